namespace Moat.Abi;

/// <summary>seccomp(2)'s ABI: operations, filter flags, filter return actions, struct seccomp_data.</summary>
public static class SeccompAbi
{
    // seccomp(2) operations.
    public const uint SECCOMP_SET_MODE_STRICT = 0;
    public const uint SECCOMP_SET_MODE_FILTER = 1;
    public const uint SECCOMP_GET_ACTION_AVAIL = 2;
    public const uint SECCOMP_GET_NOTIF_SIZES = 3;

    // Modes, as prctl(PR_SET_SECCOMP) takes them and PR_GET_SECCOMP and /proc/PID/status report them.
    public const int SECCOMP_MODE_DISABLED = 0;
    public const int SECCOMP_MODE_STRICT = 1;
    public const int SECCOMP_MODE_FILTER = 2;

    // SECCOMP_SET_MODE_FILTER flags.
    public const uint SECCOMP_FILTER_FLAG_TSYNC = 1;
    public const uint SECCOMP_FILTER_FLAG_LOG = 2;
    public const uint SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
    public const uint SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
    public const uint SECCOMP_FILTER_FLAG_TSYNC_ESRCH = 16;
    public const uint SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32;

    // Filter return values: the action in the high 16 bits (KILL_PROCESS uses the sign bit), data below.
    public const uint SECCOMP_RET_KILL_PROCESS = 0x80000000;
    public const uint SECCOMP_RET_KILL_THREAD = 0x00000000;
    public const uint SECCOMP_RET_TRAP = 0x00030000;
    public const uint SECCOMP_RET_ERRNO = 0x00050000;
    public const uint SECCOMP_RET_USER_NOTIF = 0x7fc00000;
    public const uint SECCOMP_RET_TRACE = 0x7ff00000;
    public const uint SECCOMP_RET_LOG = 0x7ffc0000;
    public const uint SECCOMP_RET_ALLOW = 0x7fff0000;
    public const uint SECCOMP_RET_ACTION_FULL = 0xffff0000;
    public const uint SECCOMP_RET_DATA = 0x0000ffff;

    /// <summary>si_code of the SIGSYS a SECCOMP_RET_TRAP raises.</summary>
    public const int SYS_SECCOMP = 1;

    /// <summary>The audit architecture of x86-64 system calls (EM_X86_64 | 64-bit | little-endian).</summary>
    public const uint AUDIT_ARCH_X86_64 = 0xc000003e;

    /// <summary>The audit architecture of i386 system calls (int 0x80).</summary>
    public const uint AUDIT_ARCH_I386 = 0x40000003;

    /// <summary>The bit x32 system call numbers carry.</summary>
    public const int X32_SYSCALL_BIT = 0x40000000;

    /// <summary>sizeof(struct seccomp_data): int nr; u32 arch; u64 instruction_pointer; u64 args[6].</summary>
    public const int SeccompDataSize = 64;

    /// <summary>struct seccomp_notif_sizes as Linux 6.x reports it: seccomp_notif, seccomp_notif_resp, seccomp_data.</summary>
    public const ushort SeccompNotifSize = 80;
    public const ushort SeccompNotifRespSize = 24;

    /// <summary>MAX_ERRNO: SECCOMP_RET_ERRNO's data is capped at it.</summary>
    public const int MAX_ERRNO = 4095;

    /// <summary>BPF_MAXINSNS: the longest program one filter may have.</summary>
    public const int BPF_MAXINSNS = 4096;

    /// <summary>MAX_INSNS_PER_PATH: instructions of all a task's filters together, 4 more per filter.</summary>
    public const int MAX_INSNS_PER_PATH = 32768;

    /// <summary>struct sock_fprog on x86-64: u16 len, 6 bytes of padding, a pointer to the instructions.</summary>
    public const int SockFprogSize = 16;
}
