using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

public sealed class CredentialsKeepCapsTests
{
    [Fact]
    public void LeavingRoot_WithoutKeepCaps_DropsPermitted()
    {
        Credentials root = Credentials.Root;
        Credentials after = (root with { RealUid = 1000, EffectiveUid = 1000, SavedUid = 1000 }).AfterUidChange(root);
        Assert.Equal(0UL, after.CapPermitted);
        Assert.Equal(0UL, after.CapEffective);
    }

    [Fact]
    public void LeavingRoot_WithKeepCaps_KeepsPermitted_EmptiesEffective_UntilExec()
    {
        Credentials root = Credentials.Root with { SecureBits = Credentials.SECBIT_KEEP_CAPS };
        Credentials after = (root with { RealUid = 1000, EffectiveUid = 1000, SavedUid = 1000 }).AfterUidChange(root);
        Assert.Equal(Credentials.AllCapabilities, after.CapPermitted);
        Assert.Equal(0UL, after.CapEffective);
        Assert.True(after.KeepCaps);

        Credentials exec = after.AfterExec();
        Assert.False(exec.KeepCaps);
        Assert.Equal(0UL, exec.CapPermitted);
    }

    [Fact]
    public void NoSetuidFixup_LeavingRoot_KeepsEverySet()
    {
        Credentials root = Credentials.Root with { SecureBits = Credentials.SECBIT_NO_SETUID_FIXUP };
        Credentials after = (root with { RealUid = 1000, EffectiveUid = 1000, SavedUid = 1000 }).AfterUidChange(root);
        Assert.Equal(Credentials.AllCapabilities, after.CapPermitted);
        Assert.Equal(Credentials.AllCapabilities, after.CapEffective);
    }

    [Fact]
    public void NoRoot_ExecAsRoot_GrantsNothing()
    {
        Credentials root = Credentials.Root with { SecureBits = Credentials.SECBIT_NOROOT };
        Credentials exec = root.AfterExec();
        Assert.Equal(0UL, exec.CapPermitted);
        Assert.Equal(0UL, exec.CapEffective);
        Assert.Equal(Credentials.SECBIT_NOROOT, exec.SecureBits);
    }
}
