using System;
using System.Globalization;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>The stub ELF, written once into a sealed memfd from which every stub process is spawned.</summary>
internal sealed unsafe class StubTemplate : IDisposable
{
    private readonly SafeFdHandle _fd;

    public StubTemplate()
        : this(StubImage.Build(out ulong pauseReturn, out ulong inject, out ulong clone, HostProcess.GetPid()), pauseReturn, inject, clone)
    {
    }

    /// <summary>A template for another stub image with the same injection protocol (the systrap stub).</summary>
    public StubTemplate(byte[] image, ulong pauseReturn, ulong inject, ulong clone)
    {
        PauseReturn = pauseReturn;
        InjectSyscall = inject;
        InjectClone = clone;
        _fd = HostFile.MemfdCreate("moat-stub", out long err);
        if (err < 0)
        {
            throw new InvalidOperationException("memfd_create for the stub failed: errno " + (-err).ToString(CultureInfo.InvariantCulture));
        }

        fixed (byte* p = image)
        {
            long w = HostFile.PWrite(_fd.Fd, p, (ulong)image.Length, 0);
            if (w != image.Length)
            {
                throw new InvalidOperationException("writing the stub image failed: " + w.ToString(CultureInfo.InvariantCulture));
            }
        }

        Path = "/proc/self/fd/" + _fd.Fd.ToString(CultureInfo.InvariantCulture);
    }

    public string Path { get; }

    public ulong PauseReturn { get; }

    public ulong InjectSyscall { get; }

    public ulong InjectClone { get; }

    public void Dispose() => _fd.Dispose();
}
