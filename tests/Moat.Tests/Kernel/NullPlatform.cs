using System;
using Moat.Abi;
using Moat.Platform;

namespace Moat.Tests.Kernel;

/// <summary>A platform that runs nothing: for tests that drive syscalls and file systems directly.</summary>
internal sealed class NullPlatform : IPlatform
{
    public string Name => "null";

    public ulong MinUserAddress => 0x10000;

    public ulong MaxUserAddress => 0x7f00_0000_0000;

    public IAddressSpace? NewAddressSpace(out long error)
    {
        error = -Errno.ENOSYS.Value;
        return null;
    }

    public IContext NewContext() => new NullContext();

    public void Dispose()
    {
    }
}

/// <summary>A context that never runs application code.</summary>
internal sealed class NullContext : IContext
{
    public long Attach(IAddressSpace addressSpace, object? token) => 0;

    public void Detach(IAddressSpace addressSpace)
    {
    }

    public SwitchEvent Switch(IAddressSpace addressSpace, ref PtraceRegs regs) => new(SwitchEventKind.AddressSpaceLost, default);

    public long GetFpState(IAddressSpace addressSpace, Span<byte> fxsave) => -Errno.ENOSYS.Value;

    public long SetFpState(IAddressSpace addressSpace, ReadOnlySpan<byte> fxsave) => -Errno.ENOSYS.Value;

    public void Interrupt()
    {
    }

    public void Dispose()
    {
    }
}
