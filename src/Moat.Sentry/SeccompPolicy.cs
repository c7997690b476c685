using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>
/// A seccomp profile given at start (OCI <c>linux.seccomp</c>), with names already resolved to x86-64
/// numbers: the Sentry installs it on the process as a filter before the program's first instruction.
/// </summary>
public sealed class SeccompPolicy
{
    /// <summary>The filter return value (action | data) for a call no rule matches.</summary>
    public required uint DefaultAction { get; init; }

    /// <summary>The rules in the profile's order: for one call, the first that matches decides.</summary>
    public IReadOnlyList<SeccompPolicyRule> Rules { get; init; } = [];

    /// <summary>The profile lists i386 (SCMP_ARCH_X86): int 0x80 calls take the default action instead of <see cref="BadArchAction"/>.</summary>
    public bool CoversI386 { get; init; }

    /// <summary>The profile lists x32 (SCMP_ARCH_X32): x32 numbers take the default action instead of <see cref="BadArchAction"/>.</summary>
    public bool CoversX32 { get; init; }

    /// <summary>The answer to a call of an architecture the profile does not list (libseccomp's default: KILL_THREAD).</summary>
    public uint BadArchAction { get; init; }

    /// <summary>SECCOMP_FILTER_FLAG_LOG.</summary>
    public bool Log { get; init; }
}

/// <summary>A call, the conditions its arguments must all meet, and the filter return value when they do.</summary>
public sealed record SeccompPolicyRule(int Nr, uint Action, IReadOnlyList<SeccompArgCondition> Conditions);

/// <summary>A 64-bit unsigned comparison of argument <paramref name="Index"/> (libseccomp's scmp_arg_cmp).</summary>
public readonly record struct SeccompArgCondition(int Index, SeccompCompare Op, ulong Value, ulong ValueTwo)
{
    public bool Matches(ulong arg) => Op switch
    {
        SeccompCompare.NotEqual => arg != Value,
        SeccompCompare.Less => arg < Value,
        SeccompCompare.LessOrEqual => arg <= Value,
        SeccompCompare.Equal => arg == Value,
        SeccompCompare.GreaterOrEqual => arg >= Value,
        SeccompCompare.Greater => arg > Value,
        _ => (arg & Value) == ValueTwo,
    };
}

/// <summary>libseccomp's comparison operators (SCMP_CMP_*).</summary>
public enum SeccompCompare
{
    NotEqual,
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
    MaskedEqual,
}
