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
        Partial(Sysno.sendfile, SysSplice.Sendfile, "as splice: to a UDP socket EINVAL, where Linux sends the file as datagrams");
        Partial(Sysno.splice, SysSplice.Splice, "copies through a Sentry buffer; tmpfs, host, /proc and memory-device files, unix and TCP sockets take part; other special files (eventfd, timerfd, UDP, netlink, ...) answer EINVAL");
        Full(Sysno.tee, SysSplice.Tee);
        Partial(Sysno.copy_file_range, SysSplice.CopyFileRange, "copies through a Sentry buffer; EXDEV across file systems");
        Partial(Sysno.pwritev2, SysReadWrite.Pwritev2, "RWF_ATOMIC and RWF_DONTCACHE answer EOPNOTSUPP");

        // Linux native AIO (Kernel/Aio): a ring mapped into the process, completions written by the Sentry.
        Partial(Sysno.io_setup, SysAio.IoSetup, "rings sized as Linux's, counted in /proc/sys/fs/aio-nr against aio-max-nr (65536, read-only); the ring is a shared mapping that fork's child keeps (without the context) and io_destroy or exit removes");
        Full(Sysno.io_destroy, SysAio.IoDestroy);
        Partial(Sysno.io_submit, SysAio.IoSubmit, "PREAD/PWRITE/PREADV/PWRITEV/FSYNC/FDSYNC run inside io_submit, as Linux's buffered I/O (a blocking pipe or socket blocks there); IOCB_CMD_POLL completes when its file is ready; IOCB_FLAG_RESFD, IOCB_FLAG_IOPRIO and RWF flags as preadv2; NOOP is EINVAL as in Linux");
        Full(Sysno.io_cancel, SysAio.IoCancel);
        Full(Sysno.io_getevents, SysAio.IoGetevents);
        Full(Sysno.io_pgetevents, SysAio.IoPgetevents);

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
        Partial(Sysno.stat, SysFile.StatPath, "Linux's permission checks on every path (search of each directory as written; not yet inside a symlink's target)");
        Partial(Sysno.lstat, SysFile.Lstat, "Linux's permission checks on every path (search of each directory as written; not yet inside a symlink's target)");
        Partial(Sysno.ioctl, SysFile.Ioctl, "FIOCLEX/FIONCLEX/FIONBIO/FIOASYNC/FIONREAD everywhere; the Sentry's ptys (termios, winsize, job control, devpts); TCGETS and TIOCGWINSZ on host files; socket and pipe queries (SIOCGSTAMP/SIOCGSTAMPNS of UDP datagrams); SIOCGIFCONF/NAME/INDEX/FLAGS/ADDR/NETMASK/BRDADDR/MTU/HWADDR/TXQLEN about the sandbox's interfaces (lo, and eth0 with --network=sandbox) on any socket, as the netlink dumps report them");
        Partial(Sysno.fcntl, SysFile.Fcntl, "descriptor flags, status flags, pipe size, POSIX and OFD record locks, memfd seals, owners and F_SETSIG (SIGIO from pipes and unix sockets); F_NOTIFY (dnotify) for changes made inside the sandbox (DN_ACCESS as IN_ACCESS); no leases");
        Full(Sysno.flock, SysLock.Flock);
        Partial(Sysno.memfd_create, SysMemfd.MemfdCreate, "a tmpfs file with seals; MAP_SHARED maps its own pages; MFD_HUGETLB gives ordinary pages");
        Full(Sysno.close_range, SysFile.CloseRange);
        Full(Sysno.pipe, SysFile.PipeSyscall);
        Full(Sysno.pipe2, SysFile.Pipe2);
        Full(Sysno.dup, SysFile.Dup);
        Full(Sysno.dup2, SysFile.Dup2);
        Full(Sysno.dup3, SysFile.Dup3);
        Partial(Sysno.open, SysFile.Open, "the overlay (host files copied up to write), tmpfs, volumes, /proc, /dev and FIFOs; Linux's permission checks on every path (search of each directory as written; not yet inside a symlink's target); O_TMPFILE on tmpfs, the overlay and read-write volumes (there an unnamed host file the gofer opens; EOPNOTSUPP where the host file system has none)");
        Partial(Sysno.openat, SysFile.Openat, "as open");
        Partial(Sysno.readlink, SysFile.Readlink, "every file system; /proc/PID/exe is the resolved path");
        Partial(Sysno.readlinkat, SysFile.Readlinkat, "as readlink");
        Partial(Sysno.access, SysFile.Access, "with the real ids and their capabilities, the walk too");
        Partial(Sysno.faccessat, SysFile.Faccessat, "as access");
        Partial(Sysno.faccessat2, SysFile.Faccessat2, "as access; AT_EACCESS uses the effective ids");
        Full(Sysno.getcwd, SysFile.Getcwd);
        Full(Sysno.creat, SysFile.Creat);
        Full(Sysno.statx, SysFile.Statx);
        // Mounts and namespaces.
        Partial(Sysno.mount, SysMount.Mount, "tmpfs (size=, nr_blocks=, mode=, uid=, gid=), ramfs, proc, sysfs, mqueue, cgroup2 (the sandbox's one cgroup, read-only), and devpts (the sandbox's single instance again: its options are checked, not applied); bind mounts of directories and files, recursive or not; remount of a mount's flags (ro, nosuid, nodev, noexec, atime) and of a tmpfs (ro, size); MS_MOVE; propagation changes accepted (every mount is private); cgroup v1 and other file system types ENODEV; CAP_SYS_ADMIN");
        Partial(Sysno.umount2, SysMount.Umount2, "MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW; EBUSY for a mount with mounts on it, a working directory or root in it, or a file open through it");
        Partial(Sysno.setns, SysSetns.Setns, "pid namespaces only, by a /proc/PID/ns/pid or pid_for_children fd (CAP_SYS_ADMIN; the caller's or one below it): the next children are born there; other namespace kinds and pidfds EINVAL");
        Partial(Sysno.unshare, SysUnshare.Unshare, "CLONE_NEWNS (the whole process moves to the copy), CLONE_NEWPID (for the next children), CLONE_FILES, and the flags a single-threaded process may give (CLONE_SIGHAND and CLONE_VM: EINVAL while another process shares the signal actions); other namespaces EINVAL");
        Partial(Sysno.setxattr, SysXattr.Setxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.lsetxattr, SysXattr.Lsetxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.fsetxattr, SysXattr.Fsetxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.getxattr, SysXattr.Getxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.lgetxattr, SysXattr.Lgetxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.fgetxattr, SysXattr.Fgetxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.listxattr, SysXattr.Listxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.llistxattr, SysXattr.Llistxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.flistxattr, SysXattr.Flistxattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.removexattr, SysXattr.Removexattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.lremovexattr, SysXattr.Lremovexattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.fremovexattr, SysXattr.Fremovexattr, "user., trusted. and security. names on the Sentry's tmpfs files and the overlay (host files copied up to change); volumes and special files EOPNOTSUPP");
        Partial(Sysno.mkdir, SysPathChange.Mkdir, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.mkdirat, SysPathChange.Mkdirat, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.fallocate, SysPathChange.Fallocate, "tmpfs, overlay and memfd files as shmem (KEEP_SIZE and PUNCH_HOLE; other modes EOPNOTSUPP); volume files as the host's file system");
        Partial(Sysno.mknod, SysPathChange.Mknod, "FIFOs, socket nodes and regular files anywhere (on volumes socket nodes and regular files only, made on the host by the gofer; a FIFO there is EOPNOTSUPP); with CAP_MKNOD the character devices the Sentry serves, other devices EPERM");
        Partial(Sysno.mknodat, SysPathChange.Mknodat, "as mknod");
        Partial(Sysno.unlink, SysPathChange.Unlink, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.unlinkat, SysPathChange.Unlinkat, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.rmdir, SysPathChange.Rmdir, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.rename, SysPathChange.Rename, "within one mount (EXDEV across, two binds of one file system too, after both parents' walks and before permission checks); a host directory of the root is EXDEV, as overlayfs without redirect_dir");
        Partial(Sysno.renameat, SysPathChange.Renameat, "within one mount (EXDEV across, two binds of one file system too, after both parents' walks and before permission checks); a host directory of the root is EXDEV, as overlayfs without redirect_dir");
        Partial(Sysno.renameat2, SysPathChange.Renameat2, "within one mount; RENAME_NOREPLACE and RENAME_EXCHANGE (on the overlay only between names the sandbox made, else EXDEV); RENAME_WHITEOUT EINVAL");
        Partial(Sysno.symlink, SysPathChange.Symlink, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.symlinkat, SysPathChange.Symlinkat, "the overlay, tmpfs and volumes, with Linux's permission checks; EROFS on a read-only root or volume");
        Partial(Sysno.link, SysPathChange.Link, "within one mount (EXDEV across, after the old name's lookup and the new name's EEXIST/EROFS, before permission checks); fs.protected_hardlinks=1");
        Partial(Sysno.linkat, SysPathChange.Linkat, "within one mount (EXDEV across); fs.protected_hardlinks=1; AT_EMPTY_PATH (with CAP_DAC_READ_SEARCH or the opener's own credentials, as Linux 6.10) and /proc/PID/fd links with AT_SYMLINK_FOLLOW link the open file, O_TMPFILE files included (on a volume the gofer links the host file through its /proc/self/fd)");
        Partial(Sysno.truncate, SysPathChange.Truncate, "tmpfs files and volume files; shrinking takes the pages past the end out of every mapping (a volume file's private ones: changes made by the host are not seen); RLIMIT_FSIZE as Linux");
        Partial(Sysno.ftruncate, SysPathChange.Ftruncate, "as truncate");
        Partial(Sysno.chmod, SysPathChange.Chmod, "tmpfs files");
        Partial(Sysno.fchmod, SysPathChange.Fchmod, "tmpfs files");
        Partial(Sysno.fchmodat, SysPathChange.Fchmodat, "tmpfs files");
        Partial(Sysno.fchmodat2, SysPathChange.Fchmodat2, "as fchmodat, with AT_SYMLINK_NOFOLLOW (a symlink: EOPNOTSUPP) and AT_EMPTY_PATH");
        Partial(Sysno.chown, SysPathChange.ChownSyscall, "tmpfs files");
        Partial(Sysno.fchown, SysPathChange.Fchown, "tmpfs files");
        Partial(Sysno.lchown, SysPathChange.Lchown, "tmpfs files");
        Partial(Sysno.fchownat, SysPathChange.Fchownat, "tmpfs files");
        Partial(Sysno.utimensat, SysPathChange.Utimensat, "tmpfs files");
        Partial(Sysno.utime, SysUtime.Utime, "as utimensat");
        Partial(Sysno.utimes, SysUtime.Utimes, "as utimensat");
        Partial(Sysno.futimesat, SysUtime.Futimesat, "as utimensat");
        Full(Sysno.chdir, SysDir.Chdir);
        Full(Sysno.fchdir, SysDir.Fchdir);
        Partial(Sysno.chroot, SysRoot.Chroot, "paths of a chrooted process are walked by the Sentry component by component (RootedPath); open descriptors keep the names they had");
        Partial(Sysno.pivot_root, SysRoot.PivotRoot, "every mount private; the moved mounts' paths are rewritten in the mount table and in the namespace's processes' roots and working directories, not in the names of open descriptors");
        Partial(Sysno.getdents64, SysDir.Getdents64, "host directories");
        Partial(Sysno.getdents, SysGetdents.Getdents, "as getdents64, in linux_dirent records");
        Full(Sysno.readahead, SysMisc.Readahead);
        Full(Sysno.umask, SysDir.Umask);
        Partial(Sysno.statfs, SysDir.Statfs, "answered by the sandbox's file system: tmpfs size and use, proc, sysfs, mqueue, devpts, overlayfs with the host root's numbers, volumes as the host");
        Partial(Sysno.fstatfs, SysDir.Fstatfs, "as statfs; pipes, sockets and anonymous inodes answer their pseudo file systems");
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
        Partial(Sysno.epoll_pwait2, SysEpoll.EpollPwait2, "as epoll_pwait; the timespec is rounded up to a millisecond");
        Full(Sysno.eventfd, SysEpoll.Eventfd);
        Full(Sysno.eventfd2, SysEpoll.Eventfd2);
        Partial(Sysno.inotify_init, SysInotify.InotifyInit, "events for changes made inside the sandbox; IN_ACCESS from read, pread64, readv, preadv and preadv2 (not sendfile, splice or mappings); no IN_UNMOUNT");
        Partial(Sysno.inotify_init1, SysInotify.InotifyInit1, "events for changes made inside the sandbox; IN_ACCESS from read, pread64, readv, preadv and preadv2 (not sendfile, splice or mappings); no IN_UNMOUNT");
        Full(Sysno.inotify_add_watch, SysInotify.InotifyAddWatch);
        Full(Sysno.inotify_rm_watch, SysInotify.InotifyRmWatch);

        // Sockets.
        Partial(Sysno.socket, SysSocket.NetSocket, "AF_UNIX stream, datagram and seqpacket (SOCK_RAW is a datagram socket, as Linux makes it); AF_INET/AF_INET6 TCP and UDP, and AF_INET ping (IPPROTO_ICMP), on the Sentry's netstack with --network=none (its loopback: 127.0.0.0/8 and ::1) and --network=sandbox or an OCI pod's network namespace (its interface taken over; docs/netstack.md, docs/oci.md; IPv6 only on the loopback), as host sockets with --network=host; no UDP-Lite (EPROTONOSUPPORT, as Linux since 7.1 and gVisor); with --net-raw and CAP_NET_RAW (else EPERM, as runsc without --net-raw), AF_INET SOCK_RAW and AF_PACKET SOCK_RAW/SOCK_DGRAM on the netstack (no IPv6 raw sockets, no SOCK_PACKET); AF_NETLINK NETLINK_ROUTE (the sandbox's links, addresses and routes: the netstack's lo and eth0 (a pod's interface keeps its own name), or the host namespace's dumps with --network=host; RTM_GETLINK by index or name, `ip route get` for IPv4; changes answer EPERM without CAP_NET_ADMIN, else EOPNOTSUPP) and NETLINK_GENERIC (nlctrl, TASKSTATS); other families answer EAFNOSUPPORT");
        Partial(Sysno.socketpair, SysSocket.NetSocketpair, "AF_UNIX");
        Partial(Sysno.bind, SysSocket.NetBind, "AF_UNIX path (a socket node in the file tree, on a volume a host node the gofer makes; found again by its node's device and inode), abstract and autobind names; AF_INET/AF_INET6 on loopback addresses (and the sandbox's interface address with --network=sandbox)");
        Full(Sysno.listen, SysSocket.NetListen);
        Full(Sysno.connect, SysSocket.NetConnect);
        Full(Sysno.accept, SysSocket.NetAccept);
        Full(Sysno.accept4, SysSocket.NetAccept4);
        Full(Sysno.getsockname, SysSocket.NetGetsockname);
        Full(Sysno.getpeername, SysSocket.NetGetpeername);
        Full(Sysno.shutdown, SysSocket.NetShutdown);
        Partial(Sysno.sendto, SysSocket.NetSendto, "no MSG_OOB");
        Partial(Sysno.recvfrom, SysSocket.NetRecvfrom, "no MSG_OOB");
        Partial(Sysno.sendmsg, SysSocket.NetSendmsg, "SCM_RIGHTS and SCM_CREDENTIALS on unix sockets; IP_TTL/IP_TOS and IPV6_HOPLIMIT/IPV6_TCLASS on UDP; no MSG_OOB, no IP_PKTINFO");
        Partial(Sysno.recvmsg, SysSocket.NetRecvmsg, "SCM_RIGHTS and SCM_CREDENTIALS on unix sockets; SCM_TIMESTAMP(NS), IP_TTL/IP_TOS and IPV6_HOPLIMIT/IPV6_TCLASS on UDP; no MSG_OOB, no IP_PKTINFO, no TCP timestamps");
        Partial(Sysno.sendmmsg, SysSocket.NetSendmmsg, "as sendmsg");
        Partial(Sysno.recvmmsg, SysSocket.NetRecvmmsg, "as recvmsg; the timeout is checked between messages, as in Linux");
        Partial(Sysno.getsockopt, SysSocket.NetGetsockopt, "SOL_SOCKET options; IPPROTO_TCP/IP/IPV6 options of internet sockets stored and read back; TCP_INFO from the netstack's connection (state, options, window scales, RTO, RTT, MSS, cwnd, byte counters); IP_HDRINCL and ICMP_FILTER of raw sockets; SOL_PACKET: PACKET_STATISTICS, the other flags read 0");
        Partial(Sysno.setsockopt, SysSocket.NetSetsockopt, "SOL_SOCKET options; SO_SNDBUF/SO_RCVBUF fix the loopback buffers (no autotuning), TCP_CORK holds partial segments, TCP_DEFER_ACCEPT defers accept, SO_TIMESTAMP(NS) stamps UDP datagrams; SO_RCVLOWAT, SO_LINGER time, TCP_NODELAY, keepalive and most IP options are stored only; IP_HDRINCL and ICMP_FILTER act on raw sockets; SOL_PACKET options answer ENOPROTOOPT (no PACKET_MMAP rings, fanout or membership, as gVisor)");

        // Memory.
        Partial(Sysno.mmap, SysMmap.Mmap, "tmpfs and memfd files map their own pages (private ones copy-on-write); private mappings of host files the sandbox cannot write share the host page cache's pages copy-on-write, other host file mappings are copies (MAP_SHARED ones read-only); MAP_LOCKED counts against RLIMIT_MEMLOCK; MAP_LOCKED and MAP_POPULATE (without MAP_NONBLOCK) give the mapping its memory at once, as Linux populates it");
        Full(Sysno.munmap, SysMmap.Munmap);
        Full(Sysno.mprotect, SysMmap.Mprotect);
        Full(Sysno.brk, SysMmap.Brk);
        Partial(Sysno.mremap, SysMmap.Mremap, "old length 0 (duplicating a shared mapping) answers ENOMEM");
        Full(Sysno.msync, SysMmap.Msync);
        Partial(Sysno.mincore, SysMmap.Mincore, "a page counts as resident once the Sentry allocated it; faults allocate around the page touched");
        Partial(Sysno.madvise, SysMmap.Madvise, "MADV_DONTNEED frees private memory: anonymous pages then read zeros, a file's private pages read the file again (tmpfs and host files, and execve's ELF segments, of a host or a tmpfs executable); MADV_POPULATE_READ/WRITE fault the range in (EINVAL without the permission); other advice is accepted as a hint");
        Partial(Sysno.mlock, SysMlock.Mlock, "locked ranges are counted against RLIMIT_MEMLOCK (VmLck) and faulted in (mm_populate); nothing is pinned on the host");
        Partial(Sysno.mlock2, SysMlock.Mlock2, "as mlock; MLOCK_ONFAULT leaves the pages to be faulted in when touched");
        Full(Sysno.munlock, SysMlock.Munlock);
        Partial(Sysno.mlockall, SysMlock.Mlockall, "as mlock; MCL_FUTURE locks later mmaps (EAGAIN beyond RLIMIT_MEMLOCK) but not brk or mremap growth");
        Full(Sysno.munlockall, SysMlock.Munlockall);
        Partial(Sysno.membarrier, SysMembarrier.Membarrier, "Linux 6.x commands and registrations; a barrier reaching other threads is the host's MEMBARRIER_CMD_GLOBAL (slow: an RCU grace period)");
        Partial(Sysno.set_mempolicy, SysMempolicy.SetMempolicy, "one NUMA node (0): policies are checked, stored and reported; memory is on node 0 whatever they say");
        Partial(Sysno.get_mempolicy, SysMempolicy.GetMempolicy, "one NUMA node; MPOL_F_ADDR reports MPOL_DEFAULT (mbind keeps no policy per mapping)");
        Partial(Sysno.mbind, SysMempolicy.Mbind, "one NUMA node: arguments and range checked, the policy is not kept");
        Partial(Sysno.userfaultfd, SysUserfaultfd.Userfaultfd, "Linux's checks with vm.unprivileged_userfaultfd = 0 (EPERM without CAP_SYS_PTRACE unless UFFD_USER_MODE_ONLY); missing mode on anonymous memory (private or shared): faults and the Sentry's copies wait, UFFDIO_API/REGISTER/UNREGISTER/COPY/ZEROPAGE/WAKE, poll, fdinfo; features SIGBUS, THREAD_ID and EXACT_ADDRESS only (no events, write-protect or minor mode: EINVAL); memfd, tmpfs and SysV shm mappings cannot be registered (EINVAL); no /dev/userfaultfd");
        Full(Sysno.pkey_alloc, SysPkey.PkeyAlloc);
        Full(Sysno.pkey_free, SysPkey.PkeyFree);
        Full(Sysno.pkey_mprotect, SysPkey.PkeyMprotect);

        // SysV IPC, one namespace per sandbox (Kernel/Ipc).
        Full(Sysno.shmget, SysShm.Shmget);
        Full(Sysno.shmat, SysShm.Shmat);
        Full(Sysno.shmdt, SysShm.Shmdt);
        Partial(Sysno.shmctl, SysShm.Shmctl, "SHM_LOCK/SHM_UNLOCK only set the mode bit; SHM_INFO's shm_rss counts every page");
        Full(Sysno.semget, SysSem.Semget);
        Full(Sysno.semop, SysSem.Semop);
        Full(Sysno.semtimedop, SysSem.Semtimedop);
        Full(Sysno.semctl, SysSem.Semctl);
        Full(Sysno.msgget, SysMsg.Msgget);
        Full(Sysno.msgsnd, SysMsg.Msgsnd);
        Full(Sysno.msgrcv, SysMsg.Msgrcv);
        Full(Sysno.msgctl, SysMsg.Msgctl);

        // POSIX message queues, per IPC namespace (Kernel/Ipc/MqRegistry.cs).
        Partial(Sysno.mq_open, SysMqueue.MqOpen, "limits are Linux's defaults (msg_max 10, msgsize_max 8192, queues_max 256), not tunable; no /dev/mqueue file system");
        Full(Sysno.mq_unlink, SysMqueue.MqUnlink);
        Full(Sysno.mq_timedsend, SysMqueue.MqTimedsend);
        Full(Sysno.mq_timedreceive, SysMqueue.MqTimedreceive);
        Full(Sysno.mq_notify, SysMqueue.MqNotify);
        Full(Sysno.mq_getsetattr, SysMqueue.MqGetsetattr);

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
        Partial(Sysno.sched_getaffinity, SysAffinity.SchedGetaffinity, "the task's mask over the sandbox's CPUs (0 to N-1)");
        Partial(Sysno.sched_setaffinity, SysAffinity.SchedSetaffinity, "stored, inherited and reported; the host runs every task on any of the sandbox's CPUs");
        Partial(Sysno.personality, SysMisc.Personality, "any value is stored and reported; none of its flags changes behaviour");
        Partial(Sysno.sched_setscheduler, SysSched.SchedSetscheduler, "policies and priorities are recorded and reported; the host schedules every task alike");
        Partial(Sysno.sched_setparam, SysSched.SchedSetparam, "priorities are recorded and reported; the host schedules every task alike");
        Full(Sysno.sched_getscheduler, SysSched.SchedGetscheduler);
        Full(Sysno.sched_getparam, SysSched.SchedGetparam);
        Partial(Sysno.sched_setattr, SysSchedAttr.SchedSetattr, "as sched_setscheduler, nice included; SCHED_DEADLINE refused (EPERM), utilization clamps EOPNOTSUPP (a kernel without CONFIG_UCLAMP_TASK)");
        Full(Sysno.sched_getattr, SysSchedAttr.SchedGetattr);
        Full(Sysno.sched_get_priority_max, SysSched.SchedGetPriorityMax);
        Full(Sysno.sched_get_priority_min, SysSched.SchedGetPriorityMin);
        Partial(Sysno.sched_rr_get_interval, SysSched.SchedRrGetInterval, "100 ms for SCHED_RR, 0 otherwise (Linux's fair slice in whole jiffies)");
        Full(Sysno.getpriority, SysPriority.Getpriority);
        Partial(Sysno.setpriority, SysPriority.Setpriority, "nice values are recorded and reported; the host schedules every task alike");
        Partial(Sysno.ioprio_set, SysIoprio.IoprioSet, "I/O priorities are checked, recorded, inherited and reported; no host block device is scheduled by them");
        Full(Sysno.ioprio_get, SysIoprio.IoprioGet);
        Partial(Sysno.reboot, SysReboot.Reboot, "as in a PID namespace of its own: restart, halt and power-off kill the sandbox's init (its exit shows SIGKILL, not Linux's SIGHUP/SIGINT); other commands EINVAL");
        Partial(Sysno.getcpu, SysThread.Getcpu, "always virtual CPU 0, node 0");

        Partial(Sysno.futex, SysFutex.Futex, "every operation; the PI ones hand the lock over in FIFO order and lend no priority (the host schedules every task alike)");
        Full(Sysno.kill, SysSignal.Kill);
        Full(Sysno.tkill, SysSignal.Tkill);
        Full(Sysno.tgkill, SysSignal.Tgkill);

        Full(Sysno.fork, SysProcess.Fork);
        Full(Sysno.vfork, SysProcess.Vfork);
        Partial(Sysno.clone, SysProcess.CloneSyscall, "CLONE_NEWNS (a copy of the mount table; CAP_SYS_ADMIN) and CLONE_NEWPID, no other new namespace; CLONE_VM without CLONE_THREAD shares the parent's memory (a process of its own in the same address space), with CLONE_SIGHAND sharing its signal actions until an exec; CLONE_PIDFD for processes");
        Partial(Sysno.clone3, SysProcess.Clone3, "CLONE_NEWNS and CLONE_NEWPID, no other new namespace; no set_tid; CLONE_VM without CLONE_THREAD shares the parent's memory (a process of its own in the same address space), with CLONE_SIGHAND sharing its signal actions until an exec; CLONE_PIDFD for processes");
        Full(Sysno.execve, SysProcess.Execve);
        Full(Sysno.execveat, SysProcess.Execveat);
        Full(Sysno.wait4, SysProcess.Wait4);
        Full(Sysno.waitid, SysProcess.Waitid);
        Partial(Sysno.pidfd_open, SysPidfd.PidfdOpen, "processes; PIDFD_THREAD answers EINVAL");
        Full(Sysno.pidfd_send_signal, SysPidfd.PidfdSendSignal);
        Full(Sysno.pidfd_getfd, SysPidfd.PidfdGetfd);
        Partial(Sysno.process_vm_readv, SysProcessVm.ProcessVmReadv, "ptrace attach rules with the real ids, as Linux without an LSM (no Yama ptrace_scope)");
        Partial(Sysno.process_vm_writev, SysProcessVm.ProcessVmWritev, "as process_vm_readv");
        Partial(Sysno.ptrace, SysPtrace.Ptrace, "tracing inside the sandbox (strace, gdb): TRACEME/ATTACH/SEIZE/INTERRUPT/LISTEN/DETACH/KILL, PEEK/POKE (writes ignore protection, COW private pages), PEEKUSER/POKEUSER, GETREGS/SETREGS, GETFPREGS/SETFPREGS, GETREGSET/SETREGSET (NT_PRSTATUS, NT_PRFPREG, NT_X86_XSTATE with the x87/SSE state only, XCR0 = 3), GETSIGINFO/SETSIGINFO, GETEVENTMSG, GET_SYSCALL_INFO, CONT/SYSCALL/SINGLESTEP, fork/vfork/clone/exec/vfork-done/exit events and EXITKILL; PTRACE_O_TRACESECCOMP and SUSPEND_SECCOMP answer EINVAL (no seccomp stops); debug registers read 0 and take only 0 (EIO: no hardware breakpoints); segment selectors cannot change (EIO); attach rules as process_vm_readv; the exit of a traced process whose tracer is not its parent reaches the parent at once, not after the tracer's wait");
        Full(Sysno.rt_sigreturn, SysSignal.RtSigreturn);
        Full(Sysno.rt_sigpending, SysSignal.RtSigpending);
        Full(Sysno.rt_sigsuspend, SysSignal.RtSigsuspend);
        Full(Sysno.rt_sigtimedwait, SysSignalQueue.RtSigtimedwait);
        Partial(Sysno.rt_sigqueueinfo, SysSignalQueue.RtSigqueueinfo, "real-time signals are not queued more than once each");
        Partial(Sysno.rt_tgsigqueueinfo, SysSignalQueue.RtTgsigqueueinfo, "real-time signals are not queued more than once each");
        Partial(Sysno.signalfd, SysSignalFd.Signalfd, "readiness follows the creating thread");
        Partial(Sysno.signalfd4, SysSignalFd.Signalfd4, "readiness follows the creating thread");
        Full(Sysno.pause, SysSignal.Pause);

        Partial(Sysno.prctl, SysPrctl.Prctl, "PDEATHSIG, DUMPABLE, NAME, NO_NEW_PRIVS, KEEPCAPS, SECUREBITS, GET_SECCOMP/SET_SECCOMP, CAPBSET_READ/CAPBSET_DROP, CAP_AMBIENT, CHILD_SUBREAPER, TIMERSLACK, GET_TID_ADDRESS, THP_DISABLE, MCE_KILL, TASK_PERF_EVENTS_*, GET_AUXV, IO_FLUSHER; others EINVAL (PR_SET_PTRACER as a kernel without Yama, PR_SET_MM, PR_SET_VMA, speculation control, syscall user dispatch, MDWE, TSC)");
        Partial(Sysno.seccomp, SysSeccomp.Seccomp, "strict mode and classic-BPF filters run by the Sentry (every action, TSYNC, LOG); NEW_LISTENER is EINVAL (no user notification), TRACE answers ENOSYS (no tracer inside)");

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
        Partial(Sysno.capset, SysCredentials.Capset, "the ambient set is trimmed to the new permitted and inheritable sets, as Linux does; files carry no capabilities (no security.capability xattrs)");
        Full(Sysno.uname, SysIdentity.Uname);
        Full(Sysno.sethostname, SysUts.Sethostname);
        Full(Sysno.setdomainname, SysUts.Setdomainname);
        Full(Sysno.sysinfo, SysIdentity.Sysinfo);

        // Time.
        Full(Sysno.clock_gettime, SysTime.ClockGettime);
        Full(Sysno.clock_getres, SysTime.ClockGetres);
        Full(Sysno.gettimeofday, SysTime.Gettimeofday);
        Full(Sysno.time, SysTime.Time);
        Full(Sysno.nanosleep, SysTime.Nanosleep);
        Full(Sysno.restart_syscall, SysRestart.RestartSyscall);
        Partial(Sysno.clock_nanosleep, SysTime.ClockNanosleep, "a CPU clock is sampled every 1-10 ms while sleeping on it");
        Full(Sysno.clock_settime, SysClockSet.ClockSettime);
        Full(Sysno.settimeofday, SysClockSet.Settimeofday);
        Partial(Sysno.adjtimex, SysClockSet.Adjtimex, "changes answer EPERM (no CAP_SYS_TIME outside the initial user namespace); reads report an undisciplined clock (TIME_ERROR, STA_UNSYNC)");
        Partial(Sysno.clock_adjtime, SysClockSet.ClockAdjtime, "as adjtimex for CLOCK_REALTIME; EOPNOTSUPP for other clocks");

        Full(Sysno.alarm, SysTimer.Alarm);
        Partial(Sysno.setitimer, SysTimer.Setitimer, "CPU-time timers sample the stub's clock every 10 ms");
        Full(Sysno.getitimer, SysTimer.Getitimer);
        Partial(Sysno.timer_create, SysTimer.TimerCreate, "wall, monotonic and CPU clocks (sampled every 10 ms); SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID (without a sigevent, si_value is the timer id); listed in /proc/PID/timers");
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
