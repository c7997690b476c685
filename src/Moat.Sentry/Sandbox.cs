using System;
using System.Collections.Generic;
using System.IO;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;
using Moat.Platform.Ptrace;
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
        using var platform = new PtracePlatform(memoryFile.Handle);
        var kernel = new Kernel.Kernel(memoryFile, platform, new GoferFileOpener(gofer), log)
        {
            Strace = options.Strace,
            Hostname = options.Hostname,
            Profile = options.ProfilePath != null ? new Profiling.SyscallProfile() : null,
            MaxTasks = options.MaxTasks,
            HostNetwork = options.Network == NetworkMode.Host ? new Net.HostNotifier() : null,
        };
        SyscallTable.UnimplementedLogger = name => log.WriteLine($"moat: unimplemented syscall {name}: returning ENOSYS");
        int status = RunInit(kernel, options);
        if (kernel.Profile != null)
        {
            using var w = new StreamWriter(options.ProfilePath!);
            kernel.Profile.WriteReport(w);
        }

        return status;
    }

    private static int RunInit(Kernel.Kernel kernel, SandboxOptions options)
    {
        string? pathVar = null;
        foreach (string e in options.Environment)
        {
            if (e.StartsWith("PATH=", StringComparison.Ordinal))
            {
                pathVar = e[5..];
            }
        }

        string name = options.Argv[0];
        string? path = ProgramImage.FindOnPath(kernel, name, pathVar, options.WorkingDirectory);
        if (path == null)
        {
            kernel.Log.WriteLine($"moat: {name}: command not found");
            return ExitNotFound;
        }

        // Load into memory with no host address space yet: init's own thread creates and traces its stub.
        var mm = new MemoryManager(kernel.MemoryFile, null, kernel.Platform.MinUserAddress, kernel.Platform.MaxUserAddress)
        {
            VdsoAddress = kernel.Platform.VdsoAddress,
        };
        Credentials creds = HostCredentials();
        var argv = new List<string>(options.Argv) { [0] = name };
        long r = ProgramImage.Load(kernel, mm, path, argv, options.Environment, new ElfLoader.AuxIdentity(creds.RealUid, creds.EffectiveUid, creds.RealGid, creds.EffectiveGid), out LoadedImage image, out string executable, out string? error);
        if (r < 0)
        {
            mm.Dispose();
            kernel.Log.WriteLine($"moat: {error}");
            return r == -Errno.ENOENT.Value ? ExitNotFound : ExitCannotExecute;
        }

        mm.ArgStart = image.ArgStart;
        mm.ArgEnd = image.ArgEnd;
        mm.EnvStart = image.EnvStart;
        mm.EnvEnd = image.EnvEnd;

        int pid = kernel.AllocatePid();
        var group = new ThreadGroup(pid, null, PathResolver.Clean(executable)) { Cwd = options.WorkingDirectory };
        mm.AddressSpaceLimit = group.Limit(RlimitResource.RLIMIT_AS).rlim_cur;
        var fds = new FdTable();
        for (int fd = 0; fd <= 2; fd++)
        {
            long fl = HostFile.Fcntl(fd, HostFile.F_GETFL, 0);
            if (fl >= 0)
            {
                var stdio = new HostFileDescription(new SafeFdHandle(fd, ownsHandle: false), (int)fl & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_LARGEFILE));
                fds.Set(fd, stdio, cloexec: false);
                stdio.DecRef();
            }
        }

        string comm = System.IO.Path.GetFileName(path);
        var task = new Task(kernel, group, pid, mm, fds, creds) { Comm = comm.Length > 15 ? comm[..15] : comm };
        ref PtraceRegs regs = ref task.Registers;
        regs.rip = image.Entry;
        regs.rsp = image.StackPointer;
        regs.cs = 0x33; // __USER_CS
        regs.ss = 0x2b; // __USER_DS
        regs.eflags = 0x202; // IF
        regs.orig_rax = ulong.MaxValue;

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
            return kernel.WaitForAll().ShellStatus;
        }
        finally
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }

    private static Credentials HostCredentials()
    {
        uint uid = (uint)HostProcess.Syscall(Sysno.getuid);
        uint euid = (uint)HostProcess.Syscall(Sysno.geteuid);
        uint gid = (uint)HostProcess.Syscall(Sysno.getgid);
        uint egid = (uint)HostProcess.Syscall(Sysno.getegid);
        return new Credentials(uid, euid, euid, gid, egid, egid);
    }
}
