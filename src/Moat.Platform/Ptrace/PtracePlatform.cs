using System;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// The ptrace platform: one stub process per address space, app code under PTRACE_SYSEMU, mappings changed
/// by injecting mmap/munmap into the stub. Simple and correct; each syscall costs two ptrace stops.
/// </summary>
public sealed class PtracePlatform : IPlatform
{
    private readonly SafeFdHandle _memoryFile;
    private readonly StubTemplate _template;
    private readonly Lazy<ulong> _vdso;

    /// <param name="memoryFile">The MemoryFile memfd; every stub holds it at fd 3.</param>
    public PtracePlatform(SafeFdHandle memoryFile)
    {
        _memoryFile = memoryFile;
        _template = new StubTemplate();
        _vdso = new Lazy<ulong>(() => StubVdso.Probe(_template));
    }

    public string Name => "ptrace";

    public ulong MinUserAddress => 0x10000;

    public ulong MaxUserAddress => StubImage.StubBase;

    public ulong VdsoAddress => _vdso.Value;

    public IAddressSpace? NewAddressSpace(out long error) => PtraceAddressSpace.Create(_template, _memoryFile, VdsoAddress, out error);

    public IContext NewContext() => new PtraceContext();

    public void Dispose() => _template.Dispose();
}
