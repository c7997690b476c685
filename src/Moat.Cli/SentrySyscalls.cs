using Moat.Abi;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// The Sentry's seccomp allow-list for <c>moat do --confine=full</c>, reviewed data: each entry names
/// the code path that needs it. Measured with <c>strace -f -b execve</c> of <c>moat do</c> through the
/// conformance suite (the Sentry's threads and the children it spawns up to their execve), plus the
/// calls of the stub before its own filter: a filter is inherited across execve, so the stub runs under
/// this one too (the application's calls are not: PTRACE_SYSEMU stops them before seccomp runs).
/// Absent on purpose: mount and namespace calls, bpf, kexec, module loading, keyctl, perf_event_open,
/// io_uring, open_by_handle_at, process_vm_readv/writev (app memory is the MemoryFile), and the network
/// calls (a socket of the host is not yet a thing the Sentry makes: `--network=host` will add its own).
/// </summary>
internal static class SentrySyscalls
{
    // glibc's pthread_create.
    private const ulong ThreadCloneFlags = 0x3D0F00;

    // glibc's posix_spawn (HostSpawn): CLONE_VM|CLONE_VFORK|SIGCHLD.
    private const ulong SpawnCloneFlags = 0x4111;

    // The stub's injected clone of a new stub thread (StubImage.ThreadCloneFlags).
    private const ulong StubThreadCloneFlags = 0x10F00;

    private const int ENOSYS = 38;

    public static SeccompRule[] Rules { get; } =
    [
        // The ptrace platform: the stop loop of every task, stub creation and its death watch.
        SeccompRule.Allow(Sysno.ptrace, "PtraceContext/PtraceAddressSpace: SEIZE, SYSEMU, GETREGS, injected calls"),
        SeccompRule.Allow(Sysno.wait4, "PtraceContext: waitpid(__WALL) on the stub thread"),
        SeccompRule.Allow(Sysno.waitid, "stub and gofer reaping"),
        SeccompRule.Allow(Sysno.pidfd_open, "StubDeathWatcher: a pidfd per stub"),
        SeccompRule.Allow(Sysno.kill, "signals to stubs and the gofer (SIGKILL on teardown)"),
        SeccompRule.Allow(Sysno.tgkill, "runtime thread suspension; signals to stub threads"),
        SeccompRule.Allow(Sysno.tkill, "signals to stub threads"),
        SeccompRule.Allow(Sysno.sched_setaffinity, "CpuPinning: a tracer thread and its stub on one CPU"),
        SeccompRule.Allow(Sysno.sched_getaffinity, "CpuPinning; runtime thread start"),
        SeccompRule.Allow(Sysno.personality, "PtraceAddressSpace: stubs without address randomisation"),

        // The systrap platform: the hand-off is futex and tgkill (above and below); the injectors follow
        // their tracer's CPU.
        SeccompRule.Allow(Sysno.getcpu, "PtraceAddressSpace.FollowCpu: an injector moves to its tracer's CPU"),

        // --network=host: internet sockets the Sentry operates for the program (HostInetSocket), only those families.
        SeccompRule.IfEqual(Sysno.socket, 0, 2, "HostInetSocket: AF_INET"),
        SeccompRule.IfEqual(Sysno.socket, 0, 10, "HostInetSocket: AF_INET6"),
        SeccompRule.IfEqual(Sysno.socket, 0, 16, "HostRouteDump: AF_NETLINK, the namespace's links, addresses and routes (dumps only)"),
        SeccompRule.Allow(Sysno.bind, "HostInetSocket"),
        SeccompRule.Allow(Sysno.connect, "HostInetSocket"),
        SeccompRule.Allow(Sysno.listen, "HostInetSocket"),
        SeccompRule.Allow(Sysno.accept4, "HostInetSocket"),
        SeccompRule.Allow(Sysno.sendto, "HostInetSocket"),
        SeccompRule.Allow(Sysno.recvfrom, "HostInetSocket"),
        SeccompRule.Allow(Sysno.getsockopt, "HostInetSocket; SO_ERROR of host sockets"),
        SeccompRule.Allow(Sysno.setsockopt, "HostInetSocket: the options it lets through"),
        SeccompRule.Allow(Sysno.getsockname, "HostInetSocket"),
        SeccompRule.Allow(Sysno.getpeername, "HostInetSocket"),
        SeccompRule.Allow(Sysno.shutdown, "HostInetSocket"),

        // Spawning stubs (HostSpawn: glibc posix_spawn, the child runs until its execve under this filter).
        SeccompRule.Fail(Sysno.clone3, ENOSYS, "glibc tries clone3 first; its flags are out of a filter's reach, clone's are not"),
        SeccompRule.IfEqual(Sysno.clone, 0, ThreadCloneFlags, "runtime threads (pthread_create)"),
        SeccompRule.IfEqual(Sysno.clone, 0, SpawnCloneFlags, "HostSpawn: posix_spawn of a stub"),
        SeccompRule.IfEqual(Sysno.clone, 0, StubThreadCloneFlags, "the stub's injected clone of a new stub thread"),
        SeccompRule.Allow(Sysno.execve, "HostSpawn: the stub, from its memfd"),
        SeccompRule.Allow(Sysno.dup2, "posix_spawn child: the MemoryFile at fd 3"),
        SeccompRule.Allow(Sysno.dup3, "posix_spawn child"),
        SeccompRule.Allow(Sysno.setsid, "posix_spawn child: POSIX_SPAWN_SETSID"),

        // The stub before its own filter is installed (StubImage): PDEATHSIG, parent check, no_new_privs, seccomp.
        SeccompRule.IfEqual(Sysno.prctl, 0, 1, "StubImage: PR_SET_PDEATHSIG"),
        SeccompRule.IfEqual(Sysno.prctl, 0, 38, "StubImage: PR_SET_NO_NEW_PRIVS"),
        SeccompRule.IfEqual(Sysno.prctl, 0, 15, "runtime: PR_SET_NAME of its threads"),
        SeccompRule.Allow(Sysno.getppid, "StubImage: is the Sentry still our parent"),
        SeccompRule.Allow(Sysno.seccomp, "StubImage: the stub's own filter (a filter can only narrow)"),
        SeccompRule.Allow(Sysno.pause, "StubImage: idle loop"),

        // The MemoryFile and the memory of the Sentry itself.
        SeccompRule.Allow(Sysno.memfd_create, "MemoryFile, stub template, memfd of the application"),
        SeccompRule.Allow(Sysno.fallocate, "MemoryFile: punch holes when memory is freed"),
        SeccompRule.Allow(Sysno.ftruncate, "MemoryFile growth"),
        SeccompRule.Allow(Sysno.mmap, "MemoryFile mappings; runtime GC heap and stacks"),
        SeccompRule.Allow(Sysno.munmap, "MemoryFile mappings; runtime"),
        SeccompRule.Allow(Sysno.mprotect, "runtime GC heap"),
        SeccompRule.Allow(Sysno.madvise, "runtime GC decommit"),
        SeccompRule.Allow(Sysno.mremap, "glibc realloc"),
        SeccompRule.Allow(Sysno.brk, "glibc malloc"),
        SeccompRule.Allow(Sysno.membarrier, "runtime: FlushProcessWriteBuffers"),

        // I/O on fds the Sentry holds: donated host files, stdio, pipes, the gofer socket, eventfds.
        SeccompRule.Allow(Sysno.read, "host stdio and donated files"),
        SeccompRule.Allow(Sysno.write, "host stdio, --strace log"),
        SeccompRule.Allow(Sysno.pread64, "donated host files, MemoryFile"),
        SeccompRule.Allow(Sysno.pwrite64, "MemoryFile, stub template"),
        SeccompRule.Allow(Sysno.readv, "host stdio"),
        SeccompRule.Allow(Sysno.writev, "host stdio"),
        SeccompRule.Allow(Sysno.preadv, "donated host files"),
        SeccompRule.Allow(Sysno.pwritev, "MemoryFile"),
        SeccompRule.Allow(Sysno.lseek, "donated host files"),
        SeccompRule.Allow(Sysno.sendfile, "sendfile between host fds"),
        SeccompRule.Allow(Sysno.close, "every fd"),
        SeccompRule.Allow(Sysno.dup, "fd duplication"),
        SeccompRule.Allow(Sysno.fcntl, "fd flags, F_DUPFD_CLOEXEC"),
        SeccompRule.Allow(Sysno.ioctl, "host terminal (TIOCGWINSZ, job control), FIONREAD on host fds"),
        SeccompRule.Allow(Sysno.flock, "file locks on donated host files"),
        SeccompRule.Allow(Sysno.fchmod, "chmod of an open file of a read-write volume (PathOps.Chmod)"),
        SeccompRule.Allow(Sysno.fchown, "chown of an open file of a read-write volume (SysPathChange)"),
        SeccompRule.IfEqual(Sysno.utimensat, 1, 0, "futimens of an open file of a read-write volume (SysPathChange): no path"),
        SeccompRule.Allow(Sysno.fstat, "donated host files"),
        SeccompRule.Allow(Sysno.newfstatat, "donated host files (AT_EMPTY_PATH); runtime"),
        SeccompRule.Allow(Sysno.stat, "runtime: a failed File open stats the parent directory to pick its exception (StubCpu reading /proc/PID/stat of a stub that just died)"),
        SeccompRule.Allow(Sysno.statx, "runtime"),
        SeccompRule.Allow(Sysno.fstatfs, "statfs of donated host files"),
        SeccompRule.Allow(Sysno.statfs, "runtime"),
        SeccompRule.Allow(Sysno.getdents64, "donated host directories"),
        SeccompRule.Allow(Sysno.openat, "runtime (/proc/self, /sys/devices/system/cpu); /proc/self/fd of the stub template"),
        SeccompRule.Allow(Sysno.readlink, "runtime; HostPath.FdPath"),
        SeccompRule.Allow(Sysno.readlinkat, "HostPath.ReadLinkFd"),
        SeccompRule.Allow(Sysno.access, "runtime"),
        SeccompRule.Allow(Sysno.getcwd, "runtime"),
        SeccompRule.Allow(Sysno.recvmsg, "GoferClient: replies and fds from the gofer; PacketLink: frames of a pod interface with their checksum state"),
        SeccompRule.Allow(Sysno.sendmsg, "GoferClient: requests"),
        SeccompRule.Allow(Sysno.socketpair, "GoferProcess; internal channels"),
        SeccompRule.Allow(Sysno.pipe2, "internal wake-up pipes"),
        SeccompRule.Allow(Sysno.eventfd2, "internal wake-ups"),
        SeccompRule.Allow(Sysno.poll, "waits on host fds (stdin, pidfds)"),
        SeccompRule.Allow(Sysno.ppoll, "waits on host fds"),
        SeccompRule.Allow(Sysno.epoll_create1, "runtime, waits on host fds"),
        SeccompRule.Allow(Sysno.epoll_ctl, "waits on host fds"),
        SeccompRule.Allow(Sysno.epoll_wait, "waits on host fds"),
        SeccompRule.Allow(Sysno.epoll_pwait, "waits on host fds"),

        // Identity, limits and time.
        SeccompRule.Allow(Sysno.getpid, "runtime; stub parent checks"),
        SeccompRule.Allow(Sysno.gettid, "runtime; CpuPinning"),
        SeccompRule.Allow(Sysno.getuid, "credentials of the first task"),
        SeccompRule.Allow(Sysno.getgid, "credentials of the first task"),
        SeccompRule.Allow(Sysno.geteuid, "credentials of the first task; ConfinedSpawn"),
        SeccompRule.Allow(Sysno.getegid, "credentials of the first task; ConfinedSpawn"),
        SeccompRule.Allow(Sysno.prlimit64, "rlimits of the first task; runtime"),
        SeccompRule.Allow(Sysno.getrusage, "getrusage and times of the sandbox"),
        SeccompRule.Allow(Sysno.sysinfo, "runtime GC memory load; sysinfo of the sandbox"),
        SeccompRule.Allow(Sysno.uname, "uname of the sandbox"),
        SeccompRule.Allow(Sysno.getrandom, "getrandom of the sandbox; runtime"),
        SeccompRule.Allow(Sysno.clock_gettime, "vDSO fallback; the stubs' process CPU clocks (CpuClocks)"),
        SeccompRule.Allow(Sysno.clock_nanosleep, "timers, runtime sleeps"),
        SeccompRule.Allow(Sysno.nanosleep, "runtime sleeps"),
        SeccompRule.Allow(Sysno.gettimeofday, "vDSO fallback"),
        SeccompRule.Allow(Sysno.sched_yield, "runtime spin waits; the ptrace loop"),

        // Threads and signals of the runtime.
        SeccompRule.Allow(Sysno.futex, "runtime locks; task blocking"),
        SeccompRule.Allow(Sysno.set_robust_list, "thread start"),
        SeccompRule.Allow(Sysno.rseq, "thread start"),
        SeccompRule.Allow(Sysno.set_tid_address, "thread start"),
        SeccompRule.Allow(Sysno.sigaltstack, "thread start"),
        SeccompRule.Allow(Sysno.rt_sigaction, "runtime; posix_spawn child resets dispositions"),
        SeccompRule.Allow(Sysno.rt_sigprocmask, "runtime; posix_spawn child"),
        SeccompRule.Allow(Sysno.rt_sigreturn, "return from runtime signal handlers"),
        SeccompRule.Allow(Sysno.restart_syscall, "kernel restart after a signal"),
        SeccompRule.Allow(Sysno.exit, "thread exit"),
        SeccompRule.Allow(Sysno.exit_group, "the end; posix_spawn child on failure"),
    ];
}
