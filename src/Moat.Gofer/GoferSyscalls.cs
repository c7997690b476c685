using Moat.Abi;
using Moat.Host;

namespace Moat.Gofer;

/// <summary>
/// The gofer's seccomp allow-list, reviewed data: each entry names the code path that needs it. Measured
/// with <c>strace -f</c> of the gofer through the whole conformance suite (the runtime's own calls after
/// start-up: GC, the finalizer thread, thread suspension), plus the calls of the write operations that
/// rw volumes add. Anything else kills the gofer, and the Sentry answers EIO for it from then on.
/// Deliberately absent: execve, socket/connect (a unix socket file in the root is not a way out), mount
/// and friends, ptrace, process_vm_*, kill of other processes, setns/unshare, open_by_handle_at.
/// </summary>
public static class GoferSyscalls
{
    // glibc's pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID.
    private const ulong ThreadCloneFlags = 0x3D0F00;
    private const int PR_SET_NAME = 15;
    private const int ENOSYS = 38;

    public static SeccompRule[] Rules { get; } =
    [
        // GoferServer.Serve: the request/reply loop on the Sentry's socket, fds passed by SCM_RIGHTS.
        SeccompRule.Allow(Sysno.recvmsg, "GoferServer.Serve: HostSocket.Receive of a request"),
        SeccompRule.Allow(Sysno.sendmsg, "GoferServer.Serve: HostSocket.Send of a reply and its fd"),

        // GoferServer.Open / ReadLink: resolution beneath the root, type check, reopen of the checked inode.
        SeccompRule.Allow(Sysno.openat2, "GoferServer.Open/ReadLink: openat2(root, path, RESOLVE_IN_ROOT)"),
        SeccompRule.Allow(Sysno.openat, "GoferServer.Open: reopen of a checked O_PATH fd through proc/self/fd"),
        SeccompRule.Allow(Sysno.newfstatat, "GoferServer.Open/ReadLink: HostFile.Fstat (fstatat AT_EMPTY_PATH)"),
        SeccompRule.Allow(Sysno.fstat, "HostFile.Fstat fallback; runtime"),
        SeccompRule.Allow(Sysno.statx, "volume writes: stat of a created entry"),
        SeccompRule.Allow(Sysno.readlinkat, "GoferServer.ReadLink: HostPath.ReadLinkFd"),
        SeccompRule.Allow(Sysno.close, "GoferServer: closing O_PATH and sent fds"),
        SeccompRule.Allow(Sysno.fcntl, "runtime: SafeHandle and fd flags"),
        SeccompRule.Allow(Sysno.lseek, "runtime"),
        SeccompRule.Allow(Sysno.read, "runtime: reads of its own files (proc/self)"),
        SeccompRule.Allow(Sysno.pread64, "runtime"),
        SeccompRule.Allow(Sysno.write, "GoferCommand: error messages on stderr"),
        SeccompRule.Allow(Sysno.getdents64, "volume operations: listing beneath the root"),

        // Write operations beneath the root for --volume HOST:SANDBOX:rw (all relative to fds the gofer holds).
        SeccompRule.Allow(Sysno.mkdirat, "volume writes: mkdir"),
        SeccompRule.Allow(Sysno.unlinkat, "volume writes: unlink and rmdir"),
        SeccompRule.Allow(Sysno.renameat2, "volume writes: rename"),
        SeccompRule.Allow(Sysno.renameat, "volume writes: rename (older glibc path)"),
        SeccompRule.Allow(Sysno.symlinkat, "volume writes: symlink"),
        SeccompRule.Allow(Sysno.linkat, "volume writes: hard link; an O_TMPFILE file's name (through /proc/self/fd)"),
        SeccompRule.Allow(Sysno.mknodat, "volume writes: a unix socket's node (bind); GoferServer refuses any other type"),
        SeccompRule.Allow(Sysno.fchmodat, "volume writes: chmod"),
        SeccompRule.Allow(Sysno.fchmodat2, "volume writes: chmod with flags"),
        SeccompRule.Allow(Sysno.fchmod, "volume writes: chmod of an open fd"),
        SeccompRule.Allow(Sysno.fchownat, "volume writes: chown"),
        SeccompRule.Allow(Sysno.fchown, "volume writes: chown of an open fd"),
        SeccompRule.Allow(Sysno.utimensat, "volume writes: utimes"),
        SeccompRule.Allow(Sysno.ftruncate, "volume writes: truncate"),
        SeccompRule.Allow(Sysno.fallocate, "volume writes: fallocate"),
        SeccompRule.Allow(Sysno.fstatfs, "volume writes: statfs of an fd beneath the root"),

        // The .NET runtime: memory and the GC.
        SeccompRule.Allow(Sysno.mmap, "runtime: GC heap, thread stacks"),
        SeccompRule.Allow(Sysno.munmap, "runtime: GC heap release"),
        SeccompRule.Allow(Sysno.mprotect, "runtime: GC heap commit"),
        SeccompRule.Allow(Sysno.madvise, "runtime: GC decommit, MADV_DODUMP"),
        SeccompRule.Allow(Sysno.mremap, "glibc realloc of large blocks"),
        SeccompRule.Allow(Sysno.brk, "glibc malloc"),
        SeccompRule.Allow(Sysno.membarrier, "runtime: FlushProcessWriteBuffers during GC suspension"),
        SeccompRule.Allow(Sysno.sysinfo, "runtime: GC memory load"),
        SeccompRule.IfEqual(Sysno.prlimit64, 2, 0, "runtime: reading (never setting) limits, pthread_getattr_np of a new thread"),
        SeccompRule.Allow(Sysno.uname, "runtime"),
        SeccompRule.Allow(Sysno.getcpu, "runtime: the current CPU when rseq is not there"),

        // The runtime: threads (the finalizer thread starts at about the time Main runs) and their suspension.
        SeccompRule.Fail(Sysno.clone3, ENOSYS, "glibc pthread_create tries clone3 first; its flags are out of a filter's reach"),
        SeccompRule.IfEqual(Sysno.clone, 0, ThreadCloneFlags, "glibc pthread_create fallback: a thread, never a process"),
        SeccompRule.Allow(Sysno.set_robust_list, "glibc thread start"),
        SeccompRule.Allow(Sysno.rseq, "glibc thread start"),
        SeccompRule.Allow(Sysno.sigaltstack, "runtime thread start: stack overflow handling"),
        SeccompRule.Allow(Sysno.sched_getaffinity, "runtime thread start"),
        SeccompRule.IfEqual(Sysno.prctl, 0, PR_SET_NAME, "runtime: naming its threads (.NET Finalizer)"),
        SeccompRule.Allow(Sysno.futex, "runtime and glibc locks, thread joins"),
        SeccompRule.Allow(Sysno.sched_yield, "runtime spin waits"),
        SeccompRule.Allow(Sysno.nanosleep, "runtime spin waits"),
        SeccompRule.Allow(Sysno.clock_nanosleep, "runtime spin waits"),
        SeccompRule.Allow(Sysno.clock_gettime, "vDSO fallback"),
        SeccompRule.Allow(Sysno.gettimeofday, "vDSO fallback"),
        SeccompRule.Allow(Sysno.getrandom, "runtime: hash seeds"),
        SeccompRule.Allow(Sysno.getpid, "runtime"),
        SeccompRule.Allow(Sysno.gettid, "runtime"),
        SeccompRule.Allow(Sysno.tgkill, "runtime: thread suspension for the GC (only our own threads: we are alone in our PID namespace)"),
        SeccompRule.Allow(Sysno.rt_sigprocmask, "runtime and glibc"),
        SeccompRule.Allow(Sysno.rt_sigaction, "runtime"),
        SeccompRule.Allow(Sysno.rt_sigreturn, "return from the runtime's signal handlers"),
        SeccompRule.Allow(Sysno.restart_syscall, "kernel restart after a signal"),
        SeccompRule.Allow(Sysno.exit, "thread exit"),
        SeccompRule.Allow(Sysno.exit_group, "GoferServer.Serve returns when the Sentry closes its end"),
    ];
}
