using System.Runtime.InteropServices;

namespace Moat.Sentry.Kernel;

/// <summary>struct sigaction as the kernel's rt_sigaction(2) sees it on x86-64 (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SignalAction
{
    public ulong Handler;
    public ulong Flags;
    public ulong Restorer;
    public ulong Mask;

    public const ulong SIG_DFL = 0;
    public const ulong SIG_IGN = 1;

    public const ulong SA_NOCLDSTOP = 0x1;
    public const ulong SA_NOCLDWAIT = 0x2;
    public const ulong SA_SIGINFO = 0x4;
    public const ulong SA_RESTORER = 0x04000000;
    public const ulong SA_ONSTACK = 0x08000000;
    public const ulong SA_RESTART = 0x10000000;
    public const ulong SA_NODEFER = 0x40000000;
    public const ulong SA_RESETHAND = 0x80000000;
}
