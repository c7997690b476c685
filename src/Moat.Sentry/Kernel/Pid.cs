namespace Moat.Sentry.Kernel;

/// <summary>
/// The ids of one task (or of the process, process group or session it leads): one number in the namespace it
/// was made in and one in each ancestor namespace, as Linux's struct pid keeps them. The number in the
/// sandbox's root namespace (<see cref="Global"/>) is the one the kernel's tables are keyed by. Immutable.
/// </summary>
internal sealed class Pid
{
    private readonly int[] _numbers;

    /// <summary>Ids in <paramref name="ns"/> and its ancestors: <paramref name="numbers"/>[level] is the id in the namespace at that level.</summary>
    public Pid(PidNamespace ns, int[] numbers)
    {
        Namespace = ns;
        _numbers = numbers;
    }

    /// <summary>A task of the root namespace only (its id is its global one).</summary>
    public Pid(PidNamespace root, int global)
        : this(root, [global])
    {
    }

    /// <summary>The innermost namespace: the one its task lives in (Linux's task_active_pid_ns).</summary>
    public PidNamespace Namespace { get; }

    /// <summary>The id in the sandbox's root namespace.</summary>
    public int Global => _numbers[0];

    /// <summary>The id in <paramref name="ns"/>, 0 when the task is not visible there (it lives in an ancestor or a sibling).</summary>
    public int In(PidNamespace ns)
    {
        int level = ns.Level;
        if (level == 0)
        {
            return _numbers[0];
        }

        return level < _numbers.Length && Namespace.AncestorAt(level) == ns ? _numbers[level] : 0;
    }

    /// <summary>The id at <paramref name="level"/> of its namespace chain.</summary>
    public int AtLevel(int level) => _numbers[level];
}
