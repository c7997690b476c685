using Moat.Abi;

namespace Moat.Sentry.Kernel.Seccomp;

/// <summary>
/// A task's seccomp state as one immutable chain: the newest filter first, each pointing at the one installed
/// before it. Tasks share chains (fork, clone and TSYNC copy the reference), so installing a filter never
/// changes another task's view. <see cref="Strict"/> stands for SECCOMP_MODE_STRICT. A task with no filter
/// holds null, and its syscall path pays one null check.
/// </summary>
internal sealed class SeccompFilter
{
    /// <summary>Strict mode: only read, write, exit and rt_sigreturn; anything else kills the thread.</summary>
    public static readonly SeccompFilter Strict = new(null, null, null, false);

    private readonly BpfInstruction[]? _program;
    private readonly SeccompRuleTable? _table;

    private SeccompFilter(SeccompFilter? prev, BpfInstruction[]? program, SeccompRuleTable? table, bool log)
    {
        Prev = prev;
        _program = program;
        _table = table;
        Log = log;
        Count = (prev?.Count ?? 0) + (program != null || table != null ? 1 : 0);
        int length = program != null ? BpfVerifier.TranslatedLength(program) : table?.Length ?? 0;

        // Linux charges 4 instructions per filter on top of its length.
        PathInstructions = (prev?.PathInstructions ?? 0) + length + 4;
    }

    /// <summary>The filter installed before this one, or null.</summary>
    public SeccompFilter? Prev { get; }

    /// <summary>How many filters the chain holds (/proc/PID/status Seccomp_filters).</summary>
    public int Count { get; }

    /// <summary>The chain's length as Linux counts it against MAX_INSNS_PER_PATH: each filter's eBPF translation, 4 more per filter.</summary>
    public int PathInstructions { get; }

    /// <summary>SECCOMP_FILTER_FLAG_LOG: actions other than ALLOW that this filter decides are logged.</summary>
    public bool Log { get; }

    public bool IsStrict => ReferenceEquals(this, Strict);

    /// <summary>The mode /proc and PR_GET_SECCOMP report.</summary>
    public int Mode => IsStrict ? SeccompAbi.SECCOMP_MODE_STRICT : SeccompAbi.SECCOMP_MODE_FILTER;

    /// <summary>
    /// Adds a verified program in front of <paramref name="current"/> (which must not be strict), or ENOMEM when
    /// the chain would pass MAX_INSNS_PER_PATH.
    /// </summary>
    public static SeccompFilter? Attach(SeccompFilter? current, BpfInstruction[] program, bool log, out Errno err) =>
        Attach(current, BpfVerifier.TranslatedLength(program), new SeccompFilter(current, program, null, log), out err);

    /// <summary>Adds a rule table (an OCI profile) in front of <paramref name="current"/>, as <see cref="Attach(SeccompFilter?, BpfInstruction[], bool, out Errno)"/>.</summary>
    public static SeccompFilter? Attach(SeccompFilter? current, SeccompRuleTable table, bool log, out Errno err) =>
        Attach(current, table.Length, new SeccompFilter(current, null, table, log), out err);

    private static SeccompFilter? Attach(SeccompFilter? current, int length, SeccompFilter made, out Errno err)
    {
        if (length + (current?.PathInstructions ?? 0) > SeccompAbi.MAX_INSNS_PER_PATH)
        {
            err = Errno.ENOMEM;
            return null;
        }

        err = Errno.None;
        return made;
    }

    /// <summary>Whether <paramref name="other"/> is this chain or one it was built on (TSYNC may replace it).</summary>
    public bool Extends(SeccompFilter? other)
    {
        if (other == null)
        {
            return true;
        }

        for (SeccompFilter? f = this; f != null; f = f.Prev)
        {
            if (ReferenceEquals(f, other))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs every filter of the chain and keeps the most restrictive answer (the lowest action, compared as
    /// signed, so KILL_PROCESS's sign bit ranks first); on a tie the newest filter's answer, data included.
    /// <paramref name="log"/> says whether the deciding filter asked for logging.
    /// </summary>
    public uint Evaluate(in SeccompData data, out bool log)
    {
        uint ret = SeccompAbi.SECCOMP_RET_ALLOW;
        log = false;
        for (SeccompFilter? f = this; f != null; f = f.Prev)
        {
            uint cur = f._program != null ? BpfInterpreter.Run(f._program, data) : f._table!.Evaluate(data);
            if ((int)(cur & SeccompAbi.SECCOMP_RET_ACTION_FULL) < (int)(ret & SeccompAbi.SECCOMP_RET_ACTION_FULL))
            {
                ret = cur;
                log = f.Log;
            }
        }

        return ret;
    }
}
