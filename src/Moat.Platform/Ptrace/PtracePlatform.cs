using System;
using System.Collections.Generic;
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
    private readonly Lazy<VdsoLayout> _vdso;

    /// <param name="memoryFile">The MemoryFile memfd; every stub holds it at fd 3.</param>
    public PtracePlatform(SafeFdHandle memoryFile)
    {
        _memoryFile = memoryFile;
        _template = new StubTemplate();
        _vdso = new Lazy<VdsoLayout>(() => StubVdso.Probe(_template));
    }

    public string Name => "ptrace";

    public ulong MinUserAddress => 0x10000;

    public ulong MaxUserAddress => StubImage.StubBase;

    public ulong VdsoAddress => _vdso.Value.Address;

    public IReadOnlyList<SpecialMapping> SpecialMappings => _vdso.Value.Mappings;

    public IAddressSpace? NewAddressSpace(out long error) => PtraceAddressSpace.Create(_template, _memoryFile, VdsoAddress, out error);

    public IContext NewContext() => new PtraceContext();

    public void Dispose() => _template.Dispose();
}
