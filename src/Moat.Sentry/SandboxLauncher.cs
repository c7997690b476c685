using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;
using Moat.Platform.Ptrace;
using Moat.Sentry.Kernel;
using Moat.Sentry.Loader;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;

namespace Moat.Sentry;

/// <summary>Loads a program into a new process of a sandbox, ready to start: the sandbox's init, or an exec'd process.</summary>
internal static class SandboxLauncher
{
    /// <summary>
    /// Loads <paramref name="spec"/> into a new process whose fds 0-2 are <paramref name="stdio"/> (null
    /// entries stay closed) and returns its first task, not yet started; or returns null with a shell-style
    /// status (127 not found, 126 not executable) and a message. A process of a pod container
    /// (<paramref name="container"/>) resolves its paths in that container's mount namespace.
    /// </summary>
    public static Task? Load(Kernel.Kernel kernel, SandboxProcessSpec spec, ReadOnlySpan<SafeFdHandle?> stdio, out int status, out string? error, SandboxContainer? container = null)
    {
        Vfs.Mounts.MountNamespace mounts = container?.Mounts ?? kernel.Mounts;
        status = 0;
        error = null;
        string? pathVar = null;
        foreach (string e in spec.Environment)
        {
            if (e.StartsWith("PATH=", StringComparison.Ordinal))
            {
                pathVar = e[5..];
            }
        }

        if (spec.Argv.Count == 0)
        {
            (status, error) = (Sandbox.ExitCannotExecute, "no program to run (empty argv)");
            return null;
        }

        string name = spec.Argv[0];
        Credentials creds = spec.Identity != null ? FromIdentity(spec.Identity) : HostCredentials();
        string? path = ProgramImage.FindOnPath(kernel, mounts, name, pathVar, spec.WorkingDirectory, creds);
        if (path == null)
        {
            (status, error) = (Sandbox.ExitNotFound, $"{name}: command not found");
            return null;
        }

        // Load into memory with no host address space yet: the process's own thread creates and traces its stub.
        var mm = new MemoryManager(kernel.MemoryFile, null, kernel.Platform.MinUserAddress, kernel.Platform.MaxUserAddress)
        {
            VdsoAddress = kernel.Platform.VdsoAddress,
        };
        var argv = new List<string>(spec.Argv) { [0] = name };
        long r = ProgramImage.Load(kernel, mounts, mm, path, argv, spec.Environment, creds, noNewPrivs: true, out LoadedImage image, out string executable, out Credentials execCreds, out string? loadError);
        if (r < 0)
        {
            mm.Dispose();
            (status, error) = (r == -Errno.ENOENT.Value ? Sandbox.ExitNotFound : Sandbox.ExitCannotExecute, loadError);
            return null;
        }

        mm.ArgStart = image.ArgStart;
        mm.ArgEnd = image.ArgEnd;
        mm.EnvStart = image.EnvStart;
        mm.EnvEnd = image.EnvEnd;

        Pid? pid = kernel.AllocatePid(container?.PidNs ?? kernel.RootPidNs);
        if (pid == null)
        {
            mm.Dispose();
            (status, error) = (Sandbox.ExitCannotExecute, "the container's pid namespace has ended (its init exited)");
            return null;
        }

        var group = new ThreadGroup(pid, null, PathResolver.Clean(executable)) { Cwd = spec.WorkingDirectory, Mounts = mounts, Container = container };
        if (spec.Umask is int umask)
        {
            group.Umask = umask;
        }

        foreach (SandboxRlimit l in spec.Rlimits)
        {
            if (l.Resource >= 0 && l.Resource < RlimitResource.RLIM_NLIMITS)
            {
                group.Limit(l.Resource) = new Rlimit { rlim_cur = l.Soft, rlim_max = l.Hard };
            }
        }

        mm.AddressSpaceLimit = group.Limit(RlimitResource.RLIMIT_AS).rlim_cur;
        var fds = new FdTable();
        Span<bool> onPty = stackalloc bool[3];
        if (spec.Terminal && stdio.Length > 0 && stdio[0] is SafeFdHandle host)
        {
            // fds 1 and 2 on that same host terminal get the pty too; another file (`moat do` with its
            // stdout redirected) stays the program's, as a shell at a terminal leaves a redirected stdout.
            onPty[0] = true;
            for (int fd = 1; fd < stdio.Length && fd <= 2; fd++)
            {
                onPty[fd] = stdio[fd] is SafeFdHandle h && (h == host || SameTerminal(h, host));
                if (onPty[fd] && stdio[fd] != host)
                {
                    stdio[fd]!.Dispose();
                }
            }

            AttachTerminal(kernel, group, fds, host, creds.EffectiveUid, onPty);
        }

        for (int fd = 0; fd < stdio.Length && fd <= 2; fd++)
        {
            SafeFdHandle? h = stdio[fd];
            if (onPty[fd])
            {
                continue;
            }

            long fl = h == null ? -1 : HostFile.Fcntl(h.Fd, HostFile.F_GETFL, 0);
            if (fl >= 0)
            {
                var file = new HostFileDescription(h!, (int)fl & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_LARGEFILE));
                fds.Set(fd, file, cloexec: false);
                file.DecRef();
            }
        }

        string comm = System.IO.Path.GetFileName(path);
        // The spec's credentials are the caller's (runc's init sets them, then execs the program): the process runs
        // with them as execve leaves them, e.g. a non-root process's ambient set becomes its permitted and effective sets.
        var task = new Task(kernel, group, pid, mm, fds, execCreds)
        {
            Comm = comm.Length > 15 ? comm[..15] : comm,
            NoNewPrivs = spec.NoNewPrivileges,
        };
        if (spec.Seccomp != null)
        {
            task.InstallSeccompPolicy(spec.Seccomp);
        }

        group.ExecutablePath = PathOps.ResolveLinks(task, executable); // /proc/self/exe names the file, not the link
        ref PtraceRegs regs = ref task.Registers;
        regs.rip = image.Entry;
        regs.rsp = image.StackPointer;
        regs.cs = 0x33; // __USER_CS
        regs.ss = 0x2b; // __USER_DS
        regs.eflags = 0x202; // IF
        regs.orig_rax = ulong.MaxValue;
        return task;
    }

    // A pty bridged to the host terminal on fds 0-2, the controlling terminal of the new process (a session
    // leader), its group in the foreground: what runc's init sets up with setsid and TIOCSCTTY.
    private static void AttachTerminal(Kernel.Kernel kernel, ThreadGroup group, FdTable fds, SafeFdHandle host, uint uid, ReadOnlySpan<bool> onPty)
    {
        FileDescription replica = kernel.Devpts.OpenBridged(host, uid, out Vfs.Devpts.Terminal tty);
        for (int fd = 0; fd <= 2; fd++)
        {
            if (onPty[fd])
            {
                fds.Set(fd, replica, cloexec: false);
            }
        }

        replica.DecRef();
        lock (kernel.TreeMu)
        {
            group.ControllingTerminal = tty;
            tty.Session = group.Session;
            tty.ForegroundGroup = group.ProcessGroup;
        }
    }

    // Whether two host fds are the same terminal device (fstat's st_rdev), as `moat do` hands on its stdio.
    private static bool SameTerminal(SafeFdHandle a, SafeFdHandle b) =>
        HostFile.Fstat(a.Fd, out Stat sa) >= 0 && HostFile.Fstat(b.Fd, out Stat sb) >= 0 &&
        (sa.st_mode & Stat.S_IFMT) == Stat.S_IFCHR && sa.st_rdev == sb.st_rdev && sa.st_rdev != 0;

    private static Credentials FromIdentity(SandboxIdentity id)
    {
        var c = new Credentials(id.Uid, id.Uid, id.Uid, id.Gid, id.Gid, id.Gid) { Groups = [.. id.AdditionalGids] };
        ulong permitted = id.CapPermitted ?? c.CapPermitted;
        ulong inheritable = id.CapInheritable ?? 0;
        return c with
        {
            CapPermitted = permitted,
            CapEffective = id.CapEffective ?? c.CapEffective,
            CapInheritable = inheritable,
            CapBounding = id.CapBounding ?? Credentials.AllCapabilities,
            CapAmbient = (id.CapAmbient ?? 0) & permitted & inheritable, // runc raises only those; others fail silently
        };
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
