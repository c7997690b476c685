namespace Moat.Sentry.Kernel;

/// <summary>
/// How a POSIX timer notifies when it fires: its sigevent's signal, value and notify (SIGEV_SIGNAL, SIGEV_NONE,
/// SIGEV_THREAD_ID), and the process (or, for SIGEV_THREAD_ID, the thread) it signals, by global id.
/// </summary>
internal readonly record struct TimerNotify(int Signo, ulong Value, int Notify, int Target);
