namespace Moat.Host;

/// <summary>
/// One entry of a seccomp allow-list: system call <see cref="Nr"/>, allowed outright or only when one
/// argument passes a test. Several rules for the same number are alternatives (any may allow).
/// </summary>
public readonly struct SeccompRule
{
    private SeccompRule(int nr, int argIndex, SeccompArgTest test, ulong operand, string why, int errno = 0)
    {
        Errno = errno;
        Nr = nr;
        ArgIndex = argIndex;
        Test = test;
        Operand = operand;
        Why = why;
    }

    public int Nr { get; }

    /// <summary>The argument the test reads (0-5), or -1 when the call is allowed whatever its arguments.</summary>
    public int ArgIndex { get; }

    public SeccompArgTest Test { get; }

    public ulong Operand { get; }

    /// <summary>The code path that needs the call: the reason it is on the list, kept beside it for review.</summary>
    public string Why { get; }

    /// <summary>When not 0, the rule does not allow the call but fails it with this errno.</summary>
    public int Errno { get; }

    /// <summary>
    /// Fails the call with <paramref name="errno"/> instead of killing: for calls the runtime tries and
    /// falls back from (clone3 answers ENOSYS so that glibc uses clone, whose flags a filter can read).
    /// </summary>
    public static SeccompRule Fail(int nr, int errno, string why) => new(nr, -1, SeccompArgTest.None, 0, why, errno);

    public static SeccompRule Allow(int nr, string why) => new(nr, -1, SeccompArgTest.None, 0, why);

    /// <summary>Allowed when argument <paramref name="arg"/> equals <paramref name="value"/>.</summary>
    public static SeccompRule IfEqual(int nr, int arg, ulong value, string why) => new(nr, arg, SeccompArgTest.Equal, value, why);

    /// <summary>Allowed when argument <paramref name="arg"/> has no bit outside <paramref name="mask"/>.</summary>
    public static SeccompRule IfBitsWithin(int nr, int arg, ulong mask, string why) => new(nr, arg, SeccompArgTest.BitsWithin, mask, why);
}

/// <summary>How a <see cref="SeccompRule"/> tests its argument.</summary>
public enum SeccompArgTest
{
    None,
    Equal,
    BitsWithin,
}
