namespace Moat.Sentry.Kernel;

/// <summary>What wait(2) found about a child: it exited, stopped or continued.</summary>
internal readonly record struct ChildEvent(ThreadGroup Child, int Code, int Status, int Pid = 0)
{
    public const int CLD_EXITED = 1;
    public const int CLD_KILLED = 2;
    public const int CLD_DUMPED = 3;
    public const int CLD_TRAPPED = 4;
    public const int CLD_STOPPED = 5;
    public const int CLD_CONTINUED = 6;

    /// <summary>The event of a child that has exited with <paramref name="es"/>.</summary>
    public static ChildEvent Exited(ThreadGroup child, ExitStatus es) =>
        new(child, es.Signaled ? (es.CoreDumped ? CLD_DUMPED : CLD_KILLED) : CLD_EXITED, es.Signaled ? es.Signal : es.Code);

    /// <summary>The pid wait reports: the task's for a tracee's event, else the process's.</summary>
    public int ReportedPid => Pid != 0 ? Pid : Child.Tgid;

    /// <summary>The status word of wait4(2).</summary>
    public int WaitStatus => Code switch
    {
        CLD_STOPPED or CLD_TRAPPED => (Status << 8) | 0x7f,
        CLD_CONTINUED => 0xffff,
        CLD_EXITED => Status << 8,
        CLD_DUMPED => Status | 0x80,
        _ => Status,
    };
}
