namespace Moat.Sentry.Kernel;

/// <summary>A task's user and group identities. Immutable; set*id calls replace the object.</summary>
internal sealed record Credentials(uint RealUid, uint EffectiveUid, uint SavedUid, uint RealGid, uint EffectiveGid, uint SavedGid)
{
    public static Credentials Root { get; } = new(0, 0, 0, 0, 0, 0);
}
