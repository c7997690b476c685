namespace Moat.Platform;

/// <summary>A host mapping an app sees but did not make (the vDSO's pages, the vsyscall page): its range, its
/// protection as /proc/PID/maps writes it ("r-xp"), and its name ("[vdso]").</summary>
public readonly record struct SpecialMapping(ulong Start, ulong End, string Perms, string Name);
