namespace Moat.Sentry.Kernel;

/// <summary>How a task ended, in the form wait(2) reports it.</summary>
internal readonly record struct ExitStatus(int Code, int Signal, bool CoreDumped)
{
    public static ExitStatus Exited(int code) => new(code & 0xff, 0, false);

    public static ExitStatus Killed(int signal, bool core = false) => new(0, signal, core);

    public bool Signaled => Signal != 0;

    /// <summary>The status word of wait(2).</summary>
    public int WaitStatus => Signaled ? Signal | (CoreDumped ? 0x80 : 0) : Code << 8;

    /// <summary>A shell's $? for this status: the code, or 128+signal.</summary>
    public int ShellStatus => Signaled ? 128 + Signal : Code;
}
