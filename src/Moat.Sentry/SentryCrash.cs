using System;
using System.IO;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry;

/// <summary>
/// What happens when a Sentry thread throws and nothing catches it (a task's thread catches its own errors, but
/// the stack's driver, timers, the reclaimer, the control server and a task's teardown do not). Left to the
/// runtime, it prints the exception on fd 2, which is the program's stderr, then calls abort(); and the jailed
/// Sentry is init of its PID namespace, where a SIGABRT it sends itself is dropped, so glibc's abort falls
/// through to a `hlt` and the Sentry dies of a general protection fault with no word of why (issue 16's two
/// "rare Sentry deaths"). Instead the exception goes to the debug log and the Sentry exits with
/// <see cref="ExitStatus"/>, which the outer moat reports as the Sentry's internal error in one line.
/// A stack overflow or a runtime FailFast cannot be intercepted and still ends as described above.
/// </summary>
public static class SentryCrash
{
    /// <summary>The Sentry's exit status after an unhandled exception (EX_SOFTWARE of sysexits.h).</summary>
    public const int ExitStatus = 70;

    /// <summary>
    /// Set to <c>sentry-thread</c>: a Sentry thread throws once init runs; <c>sentry-failfast</c>: the runtime's
    /// FailFast, whose message the runtime itself writes on fd 2 (for the failure tests).
    /// </summary>
    public const string FaultVariable = "MOAT_FAULT";

    private static TextWriter? s_log;
    private static Action<string>? s_tell;
    private static int s_installed;
    private static int s_failing;

    /// <summary>
    /// Routes unhandled exceptions to <paramref name="log"/>; <paramref name="tell"/>, when given, gets the one-line
    /// summary (a Sentry that runs in moat's own process says it on stderr and picks its exit status; it may not return).
    /// </summary>
    public static void Install(TextWriter log, Action<string>? tell)
    {
        s_log = log;
        s_tell = tell;
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += (_, e) => Fail(e.ExceptionObject);
        }
    }

    /// <summary>The one-line summary of an unhandled exception <paramref name="error"/> on thread <paramref name="thread"/>.</summary>
    public static string Summary(object error, string? thread) =>
        $"the Sentry failed: {(error as Exception)?.GetType().FullName ?? error.GetType().FullName} on thread {thread ?? "(unnamed)"}: {(error as Exception)?.Message}";

    /// <summary>Starts the thread of <see cref="FaultVariable"/> when the environment asks for it.</summary>
    internal static void InjectFaultIfAsked()
    {
        string? fault = Environment.GetEnvironmentVariable(FaultVariable);
        if (fault == "sentry-failfast")
        {
            Environment.FailFast($"an injected FailFast ({FaultVariable}=sentry-failfast)");
        }

        if (fault != "sentry-thread")
        {
            return;
        }

        var t = new Thread(() => throw new InvalidOperationException($"an injected fault ({FaultVariable}=sentry-thread)"))
        {
            IsBackground = true,
            Name = "moat-fault",
        };
        t.Start();
    }

    private static void Fail(object error)
    {
        // Two threads failing at once: the first reports, the second waits for the exit.
        if (Interlocked.Exchange(ref s_failing, 1) != 0)
        {
            Thread.Sleep(Timeout.Infinite);
        }

        string thread = Thread.CurrentThread.Name ?? Environment.CurrentManagedThreadId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string summary = Summary(error, thread);
        try
        {
            s_log?.WriteLine($"moat: {summary}\n{error}");
            s_log?.Flush();
            s_tell?.Invoke(summary);
        }
        finally
        {
            HostProcess.Syscall(Sysno.exit_group, ExitStatus);
        }
    }
}
