namespace Moat.Abi;

/// <summary>ptrace(2) requests, options, events and the layout of struct user on x86-64.</summary>
public static class PtraceAbi
{
    public const int PTRACE_TRACEME = 0;
    public const int PTRACE_PEEKTEXT = 1;
    public const int PTRACE_PEEKDATA = 2;
    public const int PTRACE_PEEKUSR = 3;
    public const int PTRACE_POKETEXT = 4;
    public const int PTRACE_POKEDATA = 5;
    public const int PTRACE_POKEUSR = 6;
    public const int PTRACE_CONT = 7;
    public const int PTRACE_KILL = 8;
    public const int PTRACE_SINGLESTEP = 9;
    public const int PTRACE_GETREGS = 12;
    public const int PTRACE_SETREGS = 13;
    public const int PTRACE_GETFPREGS = 14;
    public const int PTRACE_SETFPREGS = 15;
    public const int PTRACE_ATTACH = 16;
    public const int PTRACE_DETACH = 17;
    public const int PTRACE_SYSCALL = 24;
    public const int PTRACE_SETOPTIONS = 0x4200;
    public const int PTRACE_GETEVENTMSG = 0x4201;
    public const int PTRACE_GETSIGINFO = 0x4202;
    public const int PTRACE_SETSIGINFO = 0x4203;
    public const int PTRACE_GETREGSET = 0x4204;
    public const int PTRACE_SETREGSET = 0x4205;
    public const int PTRACE_SEIZE = 0x4206;
    public const int PTRACE_INTERRUPT = 0x4207;
    public const int PTRACE_LISTEN = 0x4208;
    public const int PTRACE_GET_SYSCALL_INFO = 0x420e;

    public const int PTRACE_O_TRACESYSGOOD = 1;
    public const int PTRACE_O_TRACEFORK = 1 << 1;
    public const int PTRACE_O_TRACEVFORK = 1 << 2;
    public const int PTRACE_O_TRACECLONE = 1 << 3;
    public const int PTRACE_O_TRACEEXEC = 1 << 4;
    public const int PTRACE_O_TRACEVFORKDONE = 1 << 5;
    public const int PTRACE_O_TRACEEXIT = 1 << 6;
    public const int PTRACE_O_TRACESECCOMP = 1 << 7;
    public const int PTRACE_O_EXITKILL = 1 << 20;
    public const int PTRACE_O_SUSPEND_SECCOMP = 1 << 21;

    public const int PTRACE_EVENT_FORK = 1;
    public const int PTRACE_EVENT_VFORK = 2;
    public const int PTRACE_EVENT_CLONE = 3;
    public const int PTRACE_EVENT_EXEC = 4;
    public const int PTRACE_EVENT_VFORK_DONE = 5;
    public const int PTRACE_EVENT_EXIT = 6;
    public const int PTRACE_EVENT_STOP = 128;

    /// <summary>PTRACE_GETEVENTMSG after a syscall stop (Linux sets the message so).</summary>
    public const int PTRACE_EVENTMSG_SYSCALL_ENTRY = 1;
    public const int PTRACE_EVENTMSG_SYSCALL_EXIT = 2;

    public const byte PTRACE_SYSCALL_INFO_NONE = 0;
    public const byte PTRACE_SYSCALL_INFO_ENTRY = 1;
    public const byte PTRACE_SYSCALL_INFO_EXIT = 2;

    /// <summary>Regset note types for PTRACE_GETREGSET.</summary>
    public const int NT_PRSTATUS = 1;
    public const int NT_PRFPREG = 2;
    public const int NT_X86_XSTATE = 0x202;

    /// <summary>The kernel's sizeof(struct user) on x86-64 (glibc's lacks its last two words), and where u_debugreg starts and ends.</summary>
    public const int UserSize = 928;
    public const int UserDebugRegOffset = 848;
    public const int UserDebugRegEnd = 912;

    /// <summary>The eflags bits a tracer may change (Linux's FLAG_MASK: CF PF AF ZF SF TF DF OF RF AC).</summary>
    public const ulong EflagsUserMask = 0x50DD5;

    /// <summary>The trap flag.</summary>
    public const ulong EflagsTF = 0x100;

    /// <summary>si_code of a single-step SIGTRAP.</summary>
    public const int TRAP_TRACE = 2;
}
