using System;
using System.IO;
using System.Threading;
using Moat.Platform;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Kernel;

/// <summary>Sandbox-wide state: the MemoryFile, the platform, the gofer, pid allocation, options.</summary>
internal sealed class Kernel
{
    private int _lastPid;

    public Kernel(MemoryFile memoryFile, IPlatform platform, IFileOpener files, TextWriter log)
    {
        MemoryFile = memoryFile;
        Platform = platform;
        Files = files;
        Log = log;
    }

    public MemoryFile MemoryFile { get; }

    public IPlatform Platform { get; }

    /// <summary>Opens host files through the gofer.</summary>
    public IFileOpener Files { get; }

    /// <summary>Where the Sentry reports to the user (stderr of <c>moat do</c>).</summary>
    public TextWriter Log { get; }

    /// <summary>Whether every syscall is logged with decoded arguments and result.</summary>
    public bool Strace { get; init; }

    /// <summary>The UTS namespace's host name.</summary>
    public string Hostname { get; set; } = "moat";

    /// <summary>The futex wait queues.</summary>
    public Futex Futexes { get; } = new();

    /// <summary>Monotonic time origin for the sandbox.</summary>
    public long BootTicks { get; } = Environment.TickCount64;

    /// <summary>Allocates the next pid in the sandbox's pid namespace: the first task is pid 1.</summary>
    public int AllocatePid() => Interlocked.Increment(ref _lastPid);
}
