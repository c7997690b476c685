using System;
using Moat.Abi;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>The implemented rows of the table, grouped as the Sys*.cs files are.</summary>
internal static partial class SyscallTable
{
    private static void RegisterAll(Action<int, SyscallHandler, SupportLevel, string?> add)
    {
        void Full(int nr, SyscallHandler h) => add(nr, h, SupportLevel.Full, null);
        void Partial(int nr, SyscallHandler h, string note) => add(nr, h, SupportLevel.Partial, note);

        // Read and write.
        Full(Sysno.read, SysReadWrite.Read);
        Full(Sysno.write, SysReadWrite.Write);
        Full(Sysno.pread64, SysReadWrite.PRead64);
        Full(Sysno.pwrite64, SysReadWrite.PWrite64);
        Full(Sysno.readv, SysReadWrite.Readv);
        Full(Sysno.writev, SysReadWrite.Writev);
        Full(Sysno.lseek, SysReadWrite.Lseek);
        Full(Sysno.preadv, SysReadWrite.Preadv);
        Full(Sysno.pwritev, SysReadWrite.Pwritev);
        Partial(Sysno.preadv2, SysReadWrite.Preadv2, "RWF_NOWAIT makes pipes non-blocking and is otherwise a hint; RWF_ATOMIC and RWF_DONTCACHE answer EOPNOTSUPP");
        Full(Sysno.sendfile, SysSplice.Sendfile);
        Partial(Sysno.splice, SysSplice.Splice, "copies through a Sentry buffer; sockets and other special files answer EINVAL");
        Full(Sysno.tee, SysSplice.Tee);
        Partial(Sysno.copy_file_range, SysSplice.CopyFileRange, "copies through a Sentry buffer; EXDEV across file systems");
        Partial(Sysno.pwritev2, SysReadWrite.Pwritev2, "RWF_ATOMIC and RWF_DONTCACHE answer EOPNOTSUPP");

        // Flushing: nothing the sandbox writes is on a host disk.
        Full(Sysno.fsync, SysSync.Fsync);
        Full(Sysno.fdatasync, SysSync.Fsync);
        Full(Sysno.sync, SysSync.Sync);
        Full(Sysno.syncfs, SysSync.Syncfs);
        Full(Sysno.sync_file_range, SysSync.SyncFileRange);

        // File descriptors and files.
        Full(Sysno.close, SysFile.Close);
        Full(Sysno.fstat, SysFile.Fstat);
        Partial(Sysno.newfstatat, SysFile.Newfstatat, "paths relative to AT_FDCWD or absolute");
        Partial(Sysno.stat, SysFile.StatPath, "host root only");
        Partial(Sysno.lstat, SysFile.Lstat, "host root only");
        Partial(Sysno.ioctl, SysFile.Ioctl, "FIOCLEX/FIONCLEX/FIONBIO/FIONREAD everywhere; the Sentry's ptys (termios, winsize, job control, devpts); TCGETS and TIOCGWINSZ on host files; socket and pipe queries");
        Partial(Sysno.fcntl, SysFile.Fcntl, "descriptor flags, status flags, pipe size, POSIX and OFD record locks, memfd seals; no leases or owners");
        Full(Sysno.flock, SysLock.Flock);
        Partial(Sysno.memfd_create, SysMemfd.MemfdCreate, "a tmpfs file with seals; MAP_SHARED maps its own pages; MFD_HUGETLB gives ordinary pages");
        Full(Sysno.close_range, SysFile.CloseRange);
        Full(Sysno.pipe, SysFile.PipeSyscall);
        Full(Sysno.pipe2, SysFile.Pipe2);
        Full(Sysno.dup, SysFile.Dup);
        Full(Sysno.dup2, SysFile.Dup2);
        Full(Sysno.dup3, SysFile.Dup3);
        Partial(Sysno.open, SysFile.Open, "read-only opens of the host root");
        Partial(Sysno.openat, SysFile.Openat, "read-only opens of the host root");
        Partial(Sysno.readlink, SysFile.Readlink, "host root and /proc/self/exe");
        Partial(Sysno.readlinkat, SysFile.Readlinkat, "host root and /proc/self/exe");
        Partial(Sysno.access, SysFile.Access, "host root, read-only");
        Partial(Sysno.faccessat, SysFile.Faccessat, "host root, read-only");
        Partial(Sysno.faccessat2, SysFile.Faccessat2, "host root, read-only");
        Full(Sysno.getcwd, SysFile.Getcwd);
        Full(Sysno.creat, SysFile.Creat);
        Full(Sysno.statx, SysFile.Statx);
        Partial(Sysno.getxattr, SysFile.NoXattr, "no extended attributes: EOPNOTSUPP");
        Partial(Sysno.lgetxattr, SysFile.NoXattr, "no extended attributes: EOPNOTSUPP");
        Partial(Sysno.fgetxattr, SysFile.NoXattr, "no extended attributes: EOPNOTSUPP");
        Partial(Sysno.listxattr, SysFile.NoXattr, "no extended attributes: EOPNOTSUPP");
        Partial(Sysno.llistxattr, SysFile.NoXattr, "no extended attributes: EOPNOTSUPP");
        Partial(Sysno.flistxattr, SysFile.NoXattr, "no extended attributes: EOPNOTSUPP");
        Partial(Sysno.mkdir, SysPathChange.Mkdir, "tmpfs mounts; the host root is read-only");
        Partial(Sysno.mkdirat, SysPathChange.Mkdirat, "tmpfs mounts; the host root is read-only");
        Partial(Sysno.unlink, SysPathChange.Unlink, "tmpfs mounts; the host root is read-only");
        Partial(Sysno.unlinkat, SysPathChange.Unlinkat, "tmpfs mounts; the host root is read-only");
        Partial(Sysno.rmdir, SysPathChange.Rmdir, "tmpfs mounts; the host root is read-only");
        Partial(Sysno.rename, SysPathChange.Rename, "within one tmpfs");
        Partial(Sysno.renameat, SysPathChange.Renameat, "within one tmpfs");
        Partial(Sysno.renameat2, SysPathChange.Renameat2, "within one tmpfs; RENAME_NOREPLACE only");
        Partial(Sysno.symlink, SysPathChange.Symlink, "tmpfs mounts");
        Partial(Sysno.symlinkat, SysPathChange.Symlinkat, "tmpfs mounts");
        Partial(Sysno.link, SysPathChange.Link, "within one tmpfs");
        Partial(Sysno.linkat, SysPathChange.Linkat, "within one tmpfs");
        Partial(Sysno.truncate, SysPathChange.Truncate, "tmpfs files");
        Partial(Sysno.ftruncate, SysPathChange.Ftruncate, "tmpfs files");
        Partial(Sysno.chmod, SysPathChange.Chmod, "tmpfs files");
        Partial(Sysno.fchmod, SysPathChange.Fchmod, "tmpfs files");
        Partial(Sysno.fchmodat, SysPathChange.Fchmodat, "tmpfs files");
        Partial(Sysno.chown, SysPathChange.ChownSyscall, "tmpfs files");
        Partial(Sysno.fchown, SysPathChange.Fchown, "tmpfs files");
        Partial(Sysno.lchown, SysPathChange.Lchown, "tmpfs files");
        Partial(Sysno.fchownat, SysPathChange.Fchownat, "tmpfs files");
        Partial(Sysno.utimensat, SysPathChange.Utimensat, "tmpfs files");
        Full(Sysno.chdir, SysDir.Chdir);
        Full(Sysno.fchdir, SysDir.Fchdir);
        Partial(Sysno.getdents64, SysDir.Getdents64, "host directories");
        Full(Sysno.umask, SysDir.Umask);
        Partial(Sysno.statfs, SysDir.Statfs, "host paths");
        Partial(Sysno.fstatfs, SysDir.Fstatfs, "host files");
        Full(Sysno.fadvise64, SysDir.Fadvise64);

        // Waiting for files.
        Full(Sysno.poll, SysPoll.Poll);
        Full(Sysno.ppoll, SysPoll.Ppoll);
        Full(Sysno.select, SysPoll.Select);
        Full(Sysno.pselect6, SysPoll.Pselect6);
        Full(Sysno.epoll_create, SysEpoll.EpollCreate);
        Full(Sysno.epoll_create1, SysEpoll.EpollCreate1);
        Full(Sysno.epoll_ctl, SysEpoll.EpollCtl);
        Partial(Sysno.epoll_wait, SysEpoll.EpollWait, "edge triggering reports new events on each wait that finds them");
        Partial(Sysno.epoll_pwait, SysEpoll.EpollPwait, "edge triggering reports new events on each wait that finds them");
        Full(Sysno.eventfd, SysEpoll.Eventfd);
        Full(Sysno.eventfd2, SysEpoll.Eventfd2);
        Partial(Sysno.inotify_init, SysInotify.InotifyInit, "events for changes made inside the sandbox; no IN_ACCESS, no IN_UNMOUNT");
        Partial(Sysno.inotify_init1, SysInotify.InotifyInit1, "events for changes made inside the sandbox; no IN_ACCESS, no IN_UNMOUNT");
        Full(Sysno.inotify_add_watch, SysInotify.InotifyAddWatch);
        Full(Sysno.inotify_rm_watch, SysInotify.InotifyRmWatch);

        // Sockets.
        Partial(Sysno.socket, SysSocket.NetSocket, "AF_UNIX stream, datagram and seqpacket; AF_INET/AF_INET6 TCP and UDP on the Sentry's loopback network; other families answer EAFNOSUPPORT");
        Partial(Sysno.socketpair, SysSocket.NetSocketpair, "AF_UNIX");
        Partial(Sysno.bind, SysSocket.NetBind, "AF_UNIX path (a socket node in the file tree), abstract and autobind names; AF_INET/AF_INET6 on loopback addresses");
        Full(Sysno.listen, SysSocket.NetListen);
        Full(Sysno.connect, SysSocket.NetConnect);
        Full(Sysno.accept, SysSocket.NetAccept);
        Full(Sysno.accept4, SysSocket.NetAccept4);
        Full(Sysno.getsockname, SysSocket.NetGetsockname);
        Full(Sysno.getpeername, SysSocket.NetGetpeername);
        Full(Sysno.shutdown, SysSocket.NetShutdown);
        Partial(Sysno.sendto, SysSocket.NetSendto, "no MSG_OOB");
        Partial(Sysno.recvfrom, SysSocket.NetRecvfrom, "no MSG_OOB");
        Partial(Sysno.sendmsg, SysSocket.NetSendmsg, "SCM_RIGHTS and SCM_CREDENTIALS on unix sockets; no MSG_OOB, no IP control messages");
        Partial(Sysno.recvmsg, SysSocket.NetRecvmsg, "SCM_RIGHTS and SCM_CREDENTIALS on unix sockets; no MSG_OOB, no IP control messages");
        Partial(Sysno.sendmmsg, SysSocket.NetSendmmsg, "as sendmsg");
        Partial(Sysno.recvmmsg, SysSocket.NetRecvmmsg, "as recvmsg; the timeout is checked between messages, as in Linux");
        Partial(Sysno.getsockopt, SysSocket.NetGetsockopt, "SOL_SOCKET options; IPPROTO_TCP/IP/IPV6 options of internet sockets stored and read back");
        Partial(Sysno.setsockopt, SysSocket.NetSetsockopt, "SOL_SOCKET options; SO_RCVLOWAT, SO_LINGER time, TCP_NODELAY and IP options are stored only");

        // Memory.
        Partial(Sysno.mmap, SysMmap.Mmap, "file mappings are private copies");
        Full(Sysno.munmap, SysMmap.Munmap);
        Full(Sysno.mprotect, SysMmap.Mprotect);
        Full(Sysno.brk, SysMmap.Brk);
        Partial(Sysno.mremap, SysMmap.Mremap, "old length 0 (duplicating a shared mapping) answers ENOMEM");
        Full(Sysno.msync, SysMmap.Msync);
        Partial(Sysno.mincore, SysMmap.Mincore, "a page counts as resident once the Sentry allocated it; faults allocate around the page touched");
        Partial(Sysno.madvise, SysMmap.Madvise, "MADV_DONTNEED frees private memory; other advice is accepted as a hint");

        // Tasks and processes.
        Full(Sysno.exit, SysThread.Exit);
        Full(Sysno.exit_group, SysThread.ExitGroup);
        Full(Sysno.getpid, SysThread.Getpid);
        Full(Sysno.gettid, SysThread.Gettid);
        Full(Sysno.getppid, SysThread.Getppid);
        Full(Sysno.getpgid, SysProcessGroup.Getpgid);
        Full(Sysno.getpgrp, SysProcessGroup.Getpgrp);
        Full(Sysno.getsid, SysProcessGroup.Getsid);
        Full(Sysno.setpgid, SysProcessGroup.Setpgid);
        Full(Sysno.setsid, SysProcessGroup.Setsid);
        Full(Sysno.set_tid_address, SysThread.SetTidAddress);
        Full(Sysno.set_robust_list, SysThread.SetRobustList);
        Full(Sysno.get_robust_list, SysThread.GetRobustList);
        Partial(Sysno.arch_prctl, SysThread.ArchPrctl, "ARCH_SET_FS, ARCH_GET_FS, ARCH_SET_GS, ARCH_GET_GS");
        Partial(Sysno.rseq, SysThread.Rseq, "registration only; the sandbox reports virtual CPU 0 and never aborts critical sections");
        Full(Sysno.sched_yield, SysThread.SchedYield);
        Full(Sysno.sched_getaffinity, SysThread.SchedGetaffinity);
        Partial(Sysno.sched_setscheduler, SysSched.SchedSetscheduler, "policies and priorities are recorded and reported; the host schedules every task alike");
        Partial(Sysno.sched_setparam, SysSched.SchedSetparam, "priorities are recorded and reported; the host schedules every task alike");
        Full(Sysno.sched_getscheduler, SysSched.SchedGetscheduler);
        Full(Sysno.sched_getparam, SysSched.SchedGetparam);
        Full(Sysno.sched_get_priority_max, SysSched.SchedGetPriorityMax);
        Full(Sysno.sched_get_priority_min, SysSched.SchedGetPriorityMin);
        Partial(Sysno.sched_rr_get_interval, SysSched.SchedRrGetInterval, "100 ms for SCHED_RR, 0 otherwise (Linux's fair slice in whole jiffies)");
        Full(Sysno.getpriority, SysPriority.Getpriority);
        Partial(Sysno.setpriority, SysPriority.Setpriority, "nice values are recorded and reported; the host schedules every task alike");
        Partial(Sysno.getcpu, SysThread.Getcpu, "always virtual CPU 0, node 0");

        Partial(Sysno.futex, SysFutex.Futex, "every operation but the priority-inheritance ones (LOCK_PI, UNLOCK_PI, TRYLOCK_PI, *_REQUEUE_PI, LOCK_PI2)");
        Full(Sysno.kill, SysSignal.Kill);
        Full(Sysno.tkill, SysSignal.Tkill);
        Full(Sysno.tgkill, SysSignal.Tgkill);

        Full(Sysno.fork, SysProcess.Fork);
        Partial(Sysno.vfork, SysProcess.Vfork, "the child gets copy-on-write memory; the parent waits until it execs or exits");
        Partial(Sysno.clone, SysProcess.CloneSyscall, "processes only; CLONE_VM without CLONE_THREAD is served as vfork");
        Partial(Sysno.clone3, SysProcess.Clone3, "processes only; CLONE_VM without CLONE_THREAD is served as vfork");
        Full(Sysno.execve, SysProcess.Execve);
        Full(Sysno.execveat, SysProcess.Execveat);
        Full(Sysno.wait4, SysProcess.Wait4);
        Full(Sysno.waitid, SysProcess.Waitid);
        Full(Sysno.rt_sigreturn, SysSignal.RtSigreturn);
        Full(Sysno.rt_sigpending, SysSignal.RtSigpending);
        Full(Sysno.rt_sigsuspend, SysSignal.RtSigsuspend);
        Full(Sysno.rt_sigtimedwait, SysSignalQueue.RtSigtimedwait);
        Partial(Sysno.rt_sigqueueinfo, SysSignalQueue.RtSigqueueinfo, "real-time signals are not queued more than once each");
        Partial(Sysno.rt_tgsigqueueinfo, SysSignalQueue.RtTgsigqueueinfo, "real-time signals are not queued more than once each");
        Partial(Sysno.signalfd, SysSignalFd.Signalfd, "readiness follows the creating thread");
        Partial(Sysno.signalfd4, SysSignalFd.Signalfd4, "readiness follows the creating thread");
        Full(Sysno.pause, SysSignal.Pause);

        Partial(Sysno.prctl, SysPrctl.Prctl, "PDEATHSIG, DUMPABLE, NAME, NO_NEW_PRIVS");

        // Identity.
        Full(Sysno.getuid, SysIdentity.Getuid);
        Full(Sysno.geteuid, SysIdentity.Geteuid);
        Full(Sysno.getgid, SysIdentity.Getgid);
        Full(Sysno.getegid, SysIdentity.Getegid);
        Full(Sysno.getresuid, SysIdentity.Getresuid);
        Full(Sysno.getresgid, SysIdentity.Getresgid);
        Full(Sysno.getgroups, SysCredentials.Getgroups);
        Full(Sysno.setgroups, SysCredentials.Setgroups);
        Full(Sysno.setuid, SysCredentials.Setuid);
        Full(Sysno.setgid, SysCredentials.Setgid);
        Full(Sysno.setresuid, SysCredentials.Setresuid);
        Full(Sysno.setresgid, SysCredentials.Setresgid);
        Full(Sysno.setreuid, SysCredentials.Setreuid);
        Full(Sysno.setregid, SysCredentials.Setregid);
        Full(Sysno.capget, SysCredentials.Capget);
        Partial(Sysno.capset, SysCredentials.Capset, "no ambient or bounding-set changes (prctl); file access checks do not consult capabilities");
        Full(Sysno.uname, SysIdentity.Uname);
        Full(Sysno.sethostname, SysUts.Sethostname);
        Full(Sysno.setdomainname, SysUts.Setdomainname);
        Full(Sysno.sysinfo, SysIdentity.Sysinfo);

        // Time.
        Full(Sysno.clock_gettime, SysTime.ClockGettime);
        Full(Sysno.clock_getres, SysTime.ClockGetres);
        Full(Sysno.gettimeofday, SysTime.Gettimeofday);
        Full(Sysno.time, SysTime.Time);
        Partial(Sysno.nanosleep, SysTime.Nanosleep, "not interruptible by signals yet");
        Partial(Sysno.clock_nanosleep, SysTime.ClockNanosleep, "a CPU clock is sampled every 1-10 ms while sleeping on it");

        Full(Sysno.alarm, SysTimer.Alarm);
        Partial(Sysno.setitimer, SysTimer.Setitimer, "CPU-time timers sample the stub's clock every 10 ms");
        Full(Sysno.getitimer, SysTimer.Getitimer);
        Partial(Sysno.timer_create, SysTimer.TimerCreate, "wall, monotonic and CPU clocks (sampled every 10 ms); SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID");
        Full(Sysno.timer_settime, SysTimer.TimerSettime);
        Full(Sysno.timer_gettime, SysTimer.TimerGettime);
        Full(Sysno.timer_getoverrun, SysTimer.TimerGetoverrun);
        Full(Sysno.timer_delete, SysTimer.TimerDelete);
        Full(Sysno.timerfd_create, SysTimer.TimerfdCreate);
        Full(Sysno.timerfd_settime, SysTimer.TimerfdSettime);
        Full(Sysno.timerfd_gettime, SysTimer.TimerfdGettime);

        // Signals.
        Full(Sysno.rt_sigaction, SysSignal.RtSigaction);
        Full(Sysno.rt_sigprocmask, SysSignal.RtSigprocmask);
        Full(Sysno.sigaltstack, SysSignal.Sigaltstack);

        // Limits and randomness.
        Full(Sysno.prlimit64, SysRlimit.Prlimit64);
        Full(Sysno.getrlimit, SysRlimit.Getrlimit);
        Full(Sysno.setrlimit, SysRlimit.Setrlimit);
        Full(Sysno.getrandom, SysRandom.Getrandom);
        Partial(Sysno.getrusage, SysResource.Getrusage, "CPU times and max RSS; the other fields are 0");
        Full(Sysno.times, SysResource.Times);
    }
}
