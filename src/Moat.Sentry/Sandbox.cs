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
        using var memoryFile = new MemoryFile { Limit = options.MemoryLimit };
        using Platform.IPlatform platform = options.Platform == "systrap" ? new SystrapPlatform(memoryFile.Handle) : new PtracePlatform(memoryFile.Handle);
        var opener = new GoferFileOpener(gofer);
        var kernel = new Kernel.Kernel(memoryFile, platform, opener, log)
        {
            Strace = options.Strace,
            StraceOutput = options.StraceOutput,
            StraceOnly = StraceSet(options.StraceSyscalls),
            Hostname = options.Hostname,
            Profile = options.ProfilePath != null ? new Profiling.SyscallProfile() : null,
            MaxTasks = options.MaxTasks,
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

        AddVolumes(kernel, opener, options.BindMounts);
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

    // Volume i is the gofer's root i + 1; its mount point is made where nothing else provides one.
    private static void AddVolumes(Kernel.Kernel kernel, IVolumeTree tree, IReadOnlyList<BindMount> mounts)
    {
        for (int i = 0; i < mounts.Count; i++)
        {
            kernel.Volumes.Add(new Volume(tree, i + 1, mounts[i].SandboxPath, mounts[i].ReadOnly));
        }

        // Outer mount points first, so that an inner one lands in the right file system.
        var byDepth = new List<BindMount>(mounts);
        byDepth.Sort((a, b) => a.SandboxPath.Length.CompareTo(b.SandboxPath.Length));
        foreach (BindMount m in byDepth)
        {
            string parent = m.SandboxPath[..System.Math.Max(1, m.SandboxPath.LastIndexOf('/'))];
            if (kernel.FindVolume(parent, out _) != null)
            {
                continue; // inside another volume: that is the host's directory, which we don't change
            }

            if (kernel.FindMount(m.SandboxPath, out string rel) is Vfs.Tmpfs.Tmpfs fs)
            {
                fs.MakeMountPoint(rel, m.IsFile);
            }
            else
            {
                Overlay.MakeMountPoint(kernel, m.SandboxPath, m.IsFile);
            }
        }
    }

    private static int RunInit(Kernel.Kernel kernel, SandboxOptions options)
    {
        if (!options.DefaultTmpfs)
        {
            // Without the default /tmp and /dev/shm: /dev itself is the Sentry's and always there.
            kernel.Mounts.Clear();
            kernel.Mounts.Add(kernel.Dev);
        }

        foreach (string mount in options.TmpfsMounts)
        {
            kernel.Mounts.Add(new Vfs.Tmpfs.Tmpfs(kernel.MemoryFile, PathResolver.Clean(mount), 0x3FF /* 01777 */));
        }

        var spec = new SandboxProcessSpec
        {
            Argv = options.Argv,
            Environment = options.Environment,
            WorkingDirectory = options.WorkingDirectory,
            Identity = options.Identity,
            Rlimits = options.Rlimits,
            NoNewPrivileges = options.NoNewPrivileges,
            Terminal = options.Terminal,
        };
        Task? task = SandboxLauncher.Load(kernel, spec, [new SafeFdHandle(0, ownsHandle: false), new SafeFdHandle(1, ownsHandle: false), new SafeFdHandle(2, ownsHandle: false)], out int status, out string? error);
        if (task == null)
        {
            (options.Errors ?? kernel.Log).WriteLine($"moat: {error}");
            return status;
        }

        kernel.DeclareInit(task.Group);
        if (options.BeforeStart?.Invoke(new SandboxControl(kernel)) is int abort)
        {
            task.MM.Dispose();
            return abort;
        }

        kernel.StartTask(task, newAddressSpace: true);

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
