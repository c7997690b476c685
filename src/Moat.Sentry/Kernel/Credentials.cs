namespace Moat.Sentry.Kernel;

/// <summary>A task's user and group identities. Immutable; set*id calls replace the object.</summary>
internal sealed record Credentials(uint RealUid, uint EffectiveUid, uint SavedUid, uint RealGid, uint EffectiveGid, uint SavedGid)
{
    public static Credentials Root { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Supplementary group ids (setgroups).</summary>
    public uint[] Groups { get; init; } = [];

    /// <summary>Whether the task acts as root: in the sandbox, uid 0 holds every capability.</summary>
    public bool IsRoot => EffectiveUid == 0;
}
