using System;
using System.Collections.Generic;
using Moat.Host;
using Moat.Platform.Ptrace;

namespace Moat.Platform.Systrap;

/// <summary>
/// The systrap platform: application threads run untraced under a seccomp filter that turns each syscall
/// into SIGSYS; the stub's handler hands the trap to the Sentry through shared memory and returns to the
/// app with rt_sigreturn. No ptrace stop per syscall or fault; mappings change through each stub's mapper
/// thread (or its traced injectors), so the app never gains a way to map the MemoryFile itself; fork and exec
/// take a stub made ahead of time (docs/systrap-platform.md).
/// </summary>
public sealed class SystrapPlatform : IPlatform
{
    /// <summary>App threads the whole sandbox may have at once (one sysmsg region each).</summary>
    private const int MaxThreads = 8192;

    private const ulong HwcapFsgsbase = 1UL << 1;
    private const ulong AtHwcap2 = 26;

    private readonly SafeFdHandle _memoryFile;
    private readonly StubTemplate _template;
    private readonly SysmsgArea _area;
    private readonly SpinPolicy _spin = new();
    private readonly Lazy<VdsoLayout> _vdso;
    private readonly StubPool? _pool;

    /// <param name="memoryFile">The MemoryFile memfd; every stub holds it at fd 3.</param>
    public SystrapPlatform(SafeFdHandle memoryFile)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("the systrap platform needs FSGSBASE (Linux 5.9+ on a CPU with it)");
        }

        _memoryFile = memoryFile;
        byte[] image = SystrapStubImage.Build(HostProcess.GetPid());
        _template = new StubTemplate(
            image,
            SystrapStubImage.Address(SystrapStubCode.PauseReturn),
            SystrapStubImage.Address(SystrapStubCode.Inject),
            SystrapStubImage.Address(SystrapStubCode.InjectClone));
        _area = SysmsgArea.Create(MaxThreads);
        _vdso = new Lazy<VdsoLayout>(() => StubVdso.Probe(_template));
        if (PoolEnabled)
        {
            _pool = new StubPool(() => SystrapAddressSpace.Create(_template, _memoryFile, _area, VdsoAddress, out _));
        }
    }

    /// <summary>Whether fork and exec take stubs made ahead of time (<see cref="StubPool"/>): yes unless MOAT_SYSTRAP_POOL=0.</summary>
    internal static readonly bool PoolEnabled = Environment.GetEnvironmentVariable("MOAT_SYSTRAP_POOL") != "0";

    /// <summary>Whether this host can run the platform: the stub reads and writes fs/gs with FSGSBASE instructions.</summary>
    public static bool IsSupported => (HostProcess.GetAuxval(AtHwcap2) & HwcapFsgsbase) != 0;

    public string Name => "systrap";

    public ulong MinUserAddress => 0x10000;

    public ulong MaxUserAddress => SystrapStubImage.StubBase;

    public ulong VdsoAddress => _vdso.Value.Address;

    public IReadOnlyList<SpecialMapping> SpecialMappings => _vdso.Value.Mappings;

    public ISyscallPatching? SyscallPatching => SystrapSyscallPatching.Enabled ? SystrapSyscallPatching.Instance : null;

    public IAddressSpace? NewAddressSpace(out long error)
    {
        error = 0;
        return _pool?.Take() ?? SystrapAddressSpace.Create(_template, _memoryFile, _area, VdsoAddress, out error);
    }

    public IContext NewContext() => new SystrapContext(_spin);

    public void Dispose()
    {
        _pool?.Dispose();
        _area.Dispose();
        _template.Dispose();
    }
}
