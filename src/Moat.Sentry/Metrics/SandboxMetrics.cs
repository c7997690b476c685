using System.Globalization;
using System.IO;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Metrics;

/// <summary>
/// Per-sandbox counters for <c>moat do --metrics FILE</c>, written at exit in Prometheus's text exposition
/// format. Counting is one interlocked increment per event, and only when metrics were asked for: a task
/// reads <see cref="Kernel.Kernel.Metrics"/> once and skips everything when it is null.
/// </summary>
public sealed class SandboxMetrics
{
    private readonly long[] _syscalls = new long[Sysno.MaxSyscall + 1]; // the last: numbers out of the table
    private long _syscalls32;
    private long _faults;
    private long _hostSignals;
    private long _tasksStarted;
    private long _peakTasks;
    private long _bytesRead;
    private long _bytesWritten;

    internal void Syscall(int nr) => Interlocked.Increment(ref _syscalls[(uint)nr < Sysno.MaxSyscall ? nr : Sysno.MaxSyscall]);

    internal void Syscall32() => Interlocked.Increment(ref _syscalls32);

    /// <summary>
    /// The bytes a read-family or write-family call of the application moved (its positive result): files,
    /// pipes, sockets and terminals alike. Calls that answer a count of messages (recvmmsg, sendmmsg) and
    /// copies between two descriptors (sendfile, splice, copy_file_range) are not counted.
    /// </summary>
    internal void Moved(int nr, long result)
    {
        switch (nr)
        {
            case Sysno.read or Sysno.pread64 or Sysno.readv or Sysno.preadv or Sysno.preadv2 or Sysno.recvfrom or Sysno.recvmsg:
                Interlocked.Add(ref _bytesRead, result);
                break;
            case Sysno.write or Sysno.pwrite64 or Sysno.writev or Sysno.pwritev or Sysno.pwritev2 or Sysno.sendto or Sysno.sendmsg:
                Interlocked.Add(ref _bytesWritten, result);
                break;
        }
    }

    /// <summary>A host signal stopped app code: SIGSEGV and SIGBUS are the page faults the Sentry serves.</summary>
    internal void HostSignal(int signo)
    {
        Interlocked.Increment(ref signo is Signal.SIGSEGV or Signal.SIGBUS ? ref _faults : ref _hostSignals);
    }

    /// <summary>A task started; <paramref name="live"/> tasks run now, counting it.</summary>
    internal void TaskStarted(int live)
    {
        Interlocked.Increment(ref _tasksStarted);
        long peak;
        while ((peak = Volatile.Read(ref _peakTasks)) < live && Interlocked.CompareExchange(ref _peakTasks, live, peak) != peak)
        {
        }
    }

    /// <summary>Writes every counter, with the MemoryFile's and the gofer's figures at exit.</summary>
    public void Write(TextWriter w, string sandbox, ulong memoryPeakBytes, ulong memoryFileBytes, long goferRoundTrips)
    {
        string label = "sandbox=\"" + sandbox.Replace("\\", "\\\\", System.StringComparison.Ordinal).Replace("\"", "\\\"", System.StringComparison.Ordinal) + "\"";
        w.WriteLine("# HELP moat_syscalls_total System calls of the application served by the Sentry, by name.");
        w.WriteLine("# TYPE moat_syscalls_total counter");
        for (int nr = 0; nr <= Sysno.MaxSyscall; nr++)
        {
            long n = Volatile.Read(ref _syscalls[nr]);
            if (n != 0)
            {
                string name = nr < Sysno.MaxSyscall ? Sysno.Name(nr) : "unknown";
                w.WriteLine($"moat_syscalls_total{{{label},name=\"{name}\"}} {n.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        if (Volatile.Read(ref _syscalls32) != 0)
        {
            w.WriteLine($"moat_syscalls_total{{{label},name=\"i386\"}} {Volatile.Read(ref _syscalls32).ToString(CultureInfo.InvariantCulture)}");
        }

        Metric(w, label, "moat_page_faults_total", "counter", "Faults of application code (SIGSEGV, SIGBUS stops) the Sentry served.", Volatile.Read(ref _faults));
        Metric(w, label, "moat_host_signals_total", "counter", "Other host signals that stopped application code.", Volatile.Read(ref _hostSignals));
        Metric(w, label, "moat_tasks_started_total", "counter", "Tasks (threads of every process) started in the sandbox.", Volatile.Read(ref _tasksStarted));
        Metric(w, label, "moat_tasks_peak", "gauge", "The most tasks alive at once.", Volatile.Read(ref _peakTasks));
        Metric(w, label, "moat_memory_file_peak_bytes", "gauge", "The most bytes of application memory the MemoryFile held at once.", (long)memoryPeakBytes);
        Metric(w, label, "moat_memory_file_size_bytes", "gauge", "Size of the MemoryFile at exit (its high-water mark, in 1 GiB chunks).", (long)memoryFileBytes);
        Metric(w, label, "moat_gofer_round_trips_total", "counter", "Requests the Sentry sent to the gofer.", goferRoundTrips);
        Metric(w, label, "moat_read_bytes_total", "counter", "Bytes the application's read, pread, readv, preadv, recvfrom and recvmsg calls returned.", Volatile.Read(ref _bytesRead));
        Metric(w, label, "moat_written_bytes_total", "counter", "Bytes the application's write, pwrite, writev, pwritev, sendto and sendmsg calls wrote.", Volatile.Read(ref _bytesWritten));
    }

    private static void Metric(TextWriter w, string label, string name, string type, string help, long value)
    {
        w.WriteLine($"# HELP {name} {help}");
        w.WriteLine($"# TYPE {name} {type}");
        w.WriteLine($"{name}{{{label}}} {value.ToString(CultureInfo.InvariantCulture)}");
    }
}
