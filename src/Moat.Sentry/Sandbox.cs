using System;
using System.Collections.Generic;
using System.IO;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;
using Moat.Platform.Ptrace;
using Moat.Platform.Systrap;
using Moat.Sentry.Kernel;
using Moat.Sentry.Loader;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Syscalls.Linux;
using Moat.Sentry.Vfs;

namespace Moat.Sentry;

/// <summary>Boots a Sentry: MemoryFile, platform, kernel, and the first process of the sandbox (pid 1).</summary>
public static class Sandbox
{
    /// <summary>Exit status when the program cannot be found (as a shell reports it).</summary>
    public const int ExitNotFound = 127;

    /// <summary>Exit status when the program was found but cannot be executed.</summary>
    public const int ExitCannotExecute = 126;

    /// <summary>Runs the program of <paramref name="options"/> until every process of the sandbox is gone; returns a shell-style status.</summary>
    public static int Run(SandboxOptions options, GoferClient gofer, TextWriter log)
    {
        SentryCrash.Install(log, options.SentryFailed);
        using var memoryFile = new MemoryFile { Limit = options.MemoryLimit };
        using Platform.IPlatform platform = options.Platform == "systrap" ? new SystrapPlatform(memoryFile.Handle) : new PtracePlatform(memoryFile.Handle);
        var opener = new GoferFileOpener(gofer);
        using Net.SandboxNetwork? netstack = options.Network switch
        {
            NetworkMode.Sandbox when options.NetworkLink is SandboxLink link => Net.SandboxNetwork.Over(link),
            NetworkMode.None => Net.SandboxNetwork.LoopbackOnly(),
            _ => null,
        };
        if (netstack != null)
        {
            netstack.RawSockets = options.NetRaw;
        }

        var kernel = new Kernel.Kernel(memoryFile, platform, opener, log)
        {
            Netstack = netstack,
            Strace = options.Strace,
            StraceOutput = options.StraceOutput,
            StraceOnly = StraceSet(options.StraceSyscalls),
            Hostname = options.Hostname,
            Profile = options.ProfilePath != null ? new Profiling.SyscallProfile() : null,
            MaxTasks = options.MaxTasks,
            CpuQuota = options.CpuQuota,
            MemorySwapLimit = options.MemorySwapLimit,
            CpuWeight = options.CpuWeight,
            ProtectsInit = options.ProtectInit,
            Metrics = options.WriteMetrics != null ? new Metrics.SandboxMetrics() : null,
            RootReadOnly = options.RootReadOnly,
            HostNetwork = options.Network == NetworkMode.Host ? new Net.HostNotifier() : null,
        };
        // After a burst of work, the Sentry gives the memory it grew back to the host.
        using var reclaimer = new IdleReclaimer(memoryFile);
        if (!IdleReclaimer.DisabledByEnvironment)
        {
            reclaimer.Start();
        }

        SetUpMounts(kernel, opener, options);
        SyscallTable.UnimplementedLogger = name => log.WriteLine($"moat: unimplemented syscall {name}: returning ENOSYS");
        int status = RunInit(kernel, options);
        if (kernel.Metrics != null)
        {
            using var text = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
            kernel.Metrics.Write(text, options.MetricsId, memoryFile.PeakUsageBytes, memoryFile.FileSize, gofer.RoundTrips);
            options.WriteMetrics!(text.ToString());
        }
        if (kernel.Profile != null)
        {
            using var w = new StreamWriter(options.ProfilePath!);
            kernel.Profile.WriteReport(w);
        }

        return status;
    }

    private static bool[]? StraceSet(IReadOnlyList<int>? numbers)
    {
        if (numbers == null)
        {
            return null;
        }

        var set = new bool[Sysno.MaxSyscall];
        foreach (int nr in numbers)
        {
            if ((uint)nr < (uint)set.Length)
            {
                set[nr] = true;
            }
        }

        return set;
    }

    // The mounts of the first namespace beyond the kernel's own: a read-only root, the default tmpfs mounts or
    // the configured ones, and the volumes (volume i is the gofer's root i + 1).
    private static void SetUpMounts(Kernel.Kernel kernel, IVolumeTree tree, SandboxOptions options)
    {
        Vfs.Mounts.MountNamespace ns = kernel.Mounts;
        if (options.RootReadOnly)
        {
            ns.Replace(ns.Root, ns.Root with { Flags = ns.Root.Flags | Vfs.Mounts.MountFlags.ReadOnly });
        }

        // Without the default /tmp and /dev/shm (an OCI container has only the tmpfs mounts its config names):
        // /dev itself is the Sentry's and always there. With them, /tmp is a tmpfs only where the root's own
        // /tmp is empty, as gVisor decides: otherwise the root's /tmp is seen (through the overlay, so what
        // the sandbox writes there stays in it), and `moat do` works from a directory under the host's /tmp.
        bool rootTmpInUse = options.DefaultTmpfs && RootTmpHasEntries(kernel);
        foreach (string path in (string[])["/dev/shm", "/tmp"])
        {
            if ((!options.DefaultTmpfs || (path == "/tmp" && rootTmpInUse)) && ns.MountedAt(path) is { Kind: Vfs.Mounts.MountKind.Tmpfs } m)
            {
                ns.Remove(m, detach: true);
            }
        }

        // The Sentry's own mounts on the root (/proc, /sys, /dev, the default /tmp) get mount points in the overlay's
        // upper layer where the root lacks them (a bare image), so `ls /` lists them, as runc's mkdir in the rootfs
        // makes them listed (the host's rootfs is not changed).
        foreach (Vfs.Mounts.Mount m in ns.All)
        {
            if (m != ns.Root && m.MountPoint.LastIndexOf('/') == 0)
            {
                Vfs.Overlay.MakeMountPoint(kernel, m.MountPoint, isFile: false);
            }
        }

        Vfs.Mounts.ConfiguredMounts.Add(kernel, ns, tree, options.TmpfsMounts, options.BindMounts, firstVolume: 1, options.MemoryLimit);
    }

    // Whether the root's /tmp exists and holds anything.
    private static bool RootTmpHasEntries(Kernel.Kernel kernel)
    {
        using SafeFdHandle? dir = kernel.Files.Open("/tmp", OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY, out _);
        return dir != null && Vfs.Mounts.HostDirectory.HasEntries(dir);
    }

    private static int RunInit(Kernel.Kernel kernel, SandboxOptions options)
    {
        var spec = new SandboxProcessSpec
        {
            Argv = options.Argv,
            Environment = options.Environment,
            WorkingDirectory = options.WorkingDirectory,
            Identity = options.Identity,
            Rlimits = options.Rlimits,
            NoNewPrivileges = options.NoNewPrivileges,
            Umask = options.Umask,
            Seccomp = options.Seccomp,
            Terminal = options.Terminal,
        };
        SafeFdHandle?[] stdio = options.Stdio is { } given ? [.. given] : [new SafeFdHandle(0, ownsHandle: false), new SafeFdHandle(1, ownsHandle: false), new SafeFdHandle(2, ownsHandle: false)];
        Task? task = SandboxLauncher.Load(kernel, spec, stdio, out int status, out string? error);
        if (task == null)
        {
            (options.Errors ?? kernel.Log).WriteLine($"moat: {error}");
            return status;
        }

        if (Vfs.Mounts.ProtectedPaths.Apply(task, options.MaskedPaths, options.ReadonlyPaths) is string pathsError)
        {
            (options.Errors ?? kernel.Log).WriteLine($"moat: {pathsError}");
            task.MM.Dispose();
            return ExitCannotExecute;
        }

        kernel.DeclareInit(task.Group);
        if (options.BeforeStart?.Invoke(new SandboxControl(kernel)) is int abort)
        {
            task.MM.Dispose();
            return abort;
        }

        kernel.StartTask(task, newAddressSpace: true);
        options.AfterStart?.Invoke();
        SentryCrash.InjectFaultIfAsked();

        // Signals sent to `moat do` (Ctrl-C, kill) go to the sandbox's init, as they would to the program.
        var registrations = new List<System.Runtime.InteropServices.PosixSignalRegistration>();
        foreach ((System.Runtime.InteropServices.PosixSignal ps, int sig) in new[]
        {
            (System.Runtime.InteropServices.PosixSignal.SIGINT, Signal.SIGINT),
            (System.Runtime.InteropServices.PosixSignal.SIGTERM, Signal.SIGTERM),
            (System.Runtime.InteropServices.PosixSignal.SIGHUP, Signal.SIGHUP),
            (System.Runtime.InteropServices.PosixSignal.SIGQUIT, Signal.SIGQUIT),
        })
        {
            registrations.Add(System.Runtime.InteropServices.PosixSignalRegistration.Create(ps, ctx =>
            {
                ctx.Cancel = true;
                Task? target;
                lock (kernel.TreeMu)
                {
                    target = kernel.Init?.SignalTarget(sig);
                }

                target?.SendSignal(sig);
            }));
        }

        try
        {
            int exitStatus = kernel.WaitForAll().ShellStatus;
            kernel.Devpts.DrainBridges(2000);
            return exitStatus;
        }
        finally
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }
}
