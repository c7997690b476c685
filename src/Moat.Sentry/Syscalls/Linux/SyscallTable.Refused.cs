using System;
using Moat.Abi;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// The rows answered with an error on purpose, each with its reason: what a container under Linux is refused
/// (a capability of the initial user namespace the sandbox never has: EPERM), facilities the Sentry does not
/// offer and says so as a kernel built without them would (ENOSYS, gVisor's answer too), and calls Linux itself
/// no longer has. Every x86-64 number is either served or listed here.
/// </summary>
internal static partial class SyscallTable
{
    private static void RegisterRefused(Action<int, Errno, string> refuse)
    {
        void Enosys(string reason, params int[] nrs)
        {
            foreach (int nr in nrs)
            {
                refuse(nr, Errno.ENOSYS, reason);
            }
        }

        void Eperm(string reason, params int[] nrs)
        {
            foreach (int nr in nrs)
            {
                refuse(nr, Errno.EPERM, reason);
            }
        }

        Enosys("removed from Linux or never implemented there", Sysno._sysctl, Sysno.afs_syscall, Sysno.create_module,
            Sysno.get_kernel_syms, Sysno.query_module, Sysno.getpmsg, Sysno.putpmsg, Sysno.security, Sysno.tuxcall,
            Sysno.vserver, Sysno.uselib, Sysno.nfsservctl, Sysno.lookup_dcookie, Sysno.epoll_ctl_old, Sysno.epoll_wait_old);
        Enosys("kernel modules, kexec and port I/O concern the host: as a kernel built without them (this host's answer too)",
            Sysno.init_module, Sysno.finit_module, Sysno.delete_module, Sysno.kexec_load, Sysno.kexec_file_load,
            Sysno.iopl, Sysno.ioperm);
        Eperm("needs a capability of the initial user namespace (CAP_SYS_ADMIN, CAP_SYS_PACCT, CAP_SYS_TTY_CONFIG, CAP_SYSLOG with dmesg_restrict), which a container never has",
            Sysno.swapon, Sysno.swapoff, Sysno.acct, Sysno.vhangup, Sysno.syslog);
        Enosys("io_uring is not served, as gVisor's default: liburing and its users fall back to other I/O",
            Sysno.io_uring_setup, Sysno.io_uring_enter, Sysno.io_uring_register);
        Enosys("no security modules in the Sentry: Landlock and the LSM attribute calls answer as a kernel without them",
            Sysno.landlock_create_ruleset, Sysno.landlock_add_rule, Sysno.landlock_restrict_self,
            Sysno.lsm_get_self_attr, Sysno.lsm_set_self_attr, Sysno.lsm_list_modules);
        Enosys("no key retention service (a kernel without CONFIG_KEYS; Docker's default profile blocks these too)",
            Sysno.keyctl, Sysno.add_key, Sysno.request_key);
        Enosys("no eBPF, performance counters, fanotify, uprobes or secret memory in the sandbox",
            Sysno.bpf, Sysno.perf_event_open, Sysno.fanotify_init, Sysno.fanotify_mark, Sysno.uprobe, Sysno.uretprobe,
            Sysno.memfd_secret);
        Enosys("the new mount API and mount listing calls: mount(8) and libmount fall back to mount(2) and /proc/self/mountinfo, which are served",
            Sysno.fsopen, Sysno.fsconfig, Sysno.fsmount, Sysno.fspick, Sysno.open_tree, Sysno.open_tree_attr, Sysno.move_mount,
            Sysno.mount_setattr, Sysno.statmount, Sysno.listmount);
        Enosys("file handles are not offered (no exportable file system in the sandbox)", Sysno.name_to_handle_at, Sysno.open_by_handle_at);
        Enosys("calls newer than the Linux the Sentry presents to programs, which check for ENOSYS and use the older forms",
            Sysno.futex_wake, Sysno.futex_wait, Sysno.futex_requeue, Sysno.futex_waitv, Sysno.cachestat, Sysno.mseal,
            Sysno.map_shadow_stack, Sysno.file_getattr, Sysno.file_setattr, Sysno.getxattrat, Sysno.setxattrat,
            Sysno.listxattrat, Sysno.removexattrat, Sysno.openat2, Sysno.process_madvise, Sysno.process_mrelease,
            Sysno.set_mempolicy_home_node);
        Enosys("x86 segment descriptors (LDT and TLS entries) are not offered to 64-bit programs", Sysno.modify_ldt,
            Sysno.get_thread_area, Sysno.set_thread_area);
        Enosys("file-system ids are the effective ids in the sandbox (no separate fsuid/fsgid)", Sysno.setfsuid, Sysno.setfsgid);
        Enosys("no checkpoint/restore or NUMA page migration (one node): kcmp, migrate_pages and move_pages are absent",
            Sysno.kcmp, Sysno.migrate_pages, Sysno.move_pages);
        Enosys("quotas, sysfs(2), ustat and remap_file_pages are not offered", Sysno.quotactl, Sysno.quotactl_fd, Sysno.sysfs,
            Sysno.ustat, Sysno.remap_file_pages);
        Enosys("vmsplice is not offered; programs fall back to write and read on the pipe", Sysno.vmsplice);
    }
}
