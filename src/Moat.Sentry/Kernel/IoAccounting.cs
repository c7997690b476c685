namespace Moat.Sentry.Kernel;

/// <summary>
/// A task's I/O counters as /proc/PID/io shows them (Linux's task_io_accounting): the bytes the read and write
/// family moved and how many such calls reached a file. Only the task itself adds to its own counters; readers
/// of another task's see a recent value.
/// </summary>
internal struct IoAccounting
{
    public long ReadChars;
    public long WriteChars;
    public long ReadCalls;
    public long WriteCalls;

    /// <summary>A read-family call that reached the file and returned <paramref name="n"/> (add_rchar, inc_syscr).</summary>
    public void Read(long n)
    {
        ReadCalls++;
        if (n > 0)
        {
            ReadChars += n;
        }
    }

    /// <summary>A write-family call that reached the file and returned <paramref name="n"/> (add_wchar, inc_syscw).</summary>
    public void Write(long n)
    {
        WriteCalls++;
        if (n > 0)
        {
            WriteChars += n;
        }
    }

    public void Add(in IoAccounting o)
    {
        ReadChars += o.ReadChars;
        WriteChars += o.WriteChars;
        ReadCalls += o.ReadCalls;
        WriteCalls += o.WriteCalls;
    }
}
