using System.Globalization;

namespace Moat.Abi;

/// <summary>
/// x86-64 Linux signal numbers (arch/x86/include/uapi/asm/signal.h).
/// Signals 32..64 are the real-time range; note that glibc/musl reserve the first few
/// for internal use and report a higher user-visible SIGRTMIN, but the kernel's range starts at 32.
/// </summary>
public static class Signal
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGQUIT = 3;
    public const int SIGILL = 4;
    public const int SIGTRAP = 5;
    public const int SIGABRT = 6;
    public const int SIGBUS = 7;
    public const int SIGFPE = 8;
    public const int SIGKILL = 9;
    public const int SIGUSR1 = 10;
    public const int SIGSEGV = 11;
    public const int SIGUSR2 = 12;
    public const int SIGPIPE = 13;
    public const int SIGALRM = 14;
    public const int SIGTERM = 15;
    public const int SIGSTKFLT = 16;
    public const int SIGCHLD = 17;
    public const int SIGCONT = 18;
    public const int SIGSTOP = 19;
    public const int SIGTSTP = 20;
    public const int SIGTTIN = 21;
    public const int SIGTTOU = 22;
    public const int SIGURG = 23;
    public const int SIGXCPU = 24;
    public const int SIGXFSZ = 25;
    public const int SIGVTALRM = 26;
    public const int SIGPROF = 27;
    public const int SIGWINCH = 28;
    public const int SIGIO = 29;
    public const int SIGPWR = 30;
    public const int SIGSYS = 31;

    /// <summary>Alias of <see cref="SIGABRT"/>.</summary>
    public const int SIGIOT = SIGABRT;

    /// <summary>Alias of <see cref="SIGIO"/>.</summary>
    public const int SIGPOLL = SIGIO;

    /// <summary>First real-time signal (kernel numbering).</summary>
    public const int SIGRTMIN = 32;

    /// <summary>Last real-time signal; equal to _NSIG (64).</summary>
    public const int SIGRTMAX = 64;

    private static readonly string[] s_names = BuildNames();

    /// <summary>True if <paramref name="sig"/> is a valid signal number (1..64).</summary>
    public static bool IsValid(int sig) => sig >= 1 && sig <= SIGRTMAX;

    /// <summary>
    /// Returns the signal's name: "SIGSEGV" for standard signals, "SIGRTMIN" / "SIGRTMIN+n" for
    /// 32..64, and "SIG&lt;n&gt;" for anything else. Valid signals (1..64) do not allocate.
    /// </summary>
    public static string Name(int sig)
    {
        string[] names = s_names;
        if ((uint)sig < (uint)names.Length)
        {
            return names[sig];
        }

        return "SIG" + sig.ToString(CultureInfo.InvariantCulture);
    }

    private static string[] BuildNames()
    {
        var t = new string[SIGRTMAX + 1];
        t[0] = "SIG0";
        t[SIGHUP] = nameof(SIGHUP);
        t[SIGINT] = nameof(SIGINT);
        t[SIGQUIT] = nameof(SIGQUIT);
        t[SIGILL] = nameof(SIGILL);
        t[SIGTRAP] = nameof(SIGTRAP);
        t[SIGABRT] = nameof(SIGABRT);
        t[SIGBUS] = nameof(SIGBUS);
        t[SIGFPE] = nameof(SIGFPE);
        t[SIGKILL] = nameof(SIGKILL);
        t[SIGUSR1] = nameof(SIGUSR1);
        t[SIGSEGV] = nameof(SIGSEGV);
        t[SIGUSR2] = nameof(SIGUSR2);
        t[SIGPIPE] = nameof(SIGPIPE);
        t[SIGALRM] = nameof(SIGALRM);
        t[SIGTERM] = nameof(SIGTERM);
        t[SIGSTKFLT] = nameof(SIGSTKFLT);
        t[SIGCHLD] = nameof(SIGCHLD);
        t[SIGCONT] = nameof(SIGCONT);
        t[SIGSTOP] = nameof(SIGSTOP);
        t[SIGTSTP] = nameof(SIGTSTP);
        t[SIGTTIN] = nameof(SIGTTIN);
        t[SIGTTOU] = nameof(SIGTTOU);
        t[SIGURG] = nameof(SIGURG);
        t[SIGXCPU] = nameof(SIGXCPU);
        t[SIGXFSZ] = nameof(SIGXFSZ);
        t[SIGVTALRM] = nameof(SIGVTALRM);
        t[SIGPROF] = nameof(SIGPROF);
        t[SIGWINCH] = nameof(SIGWINCH);
        t[SIGIO] = nameof(SIGIO);
        t[SIGPWR] = nameof(SIGPWR);
        t[SIGSYS] = nameof(SIGSYS);
        t[SIGRTMIN] = nameof(SIGRTMIN);
        for (int sig = SIGRTMIN + 1; sig <= SIGRTMAX; sig++)
        {
            t[sig] = "SIGRTMIN+" + (sig - SIGRTMIN).ToString(CultureInfo.InvariantCulture);
        }

        return t;
    }
}
