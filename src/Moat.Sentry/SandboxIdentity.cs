using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>
/// Who a sandboxed process runs as: uid, gid, supplementary groups and, when given, its capability sets
/// (bit N is capability N). Without capability sets, uid 0 gets every capability, as after execve.
/// </summary>
public sealed record SandboxIdentity(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids)
{
    /// <summary>The effective set, or null for the default of the uid.</summary>
    public ulong? CapEffective { get; init; }

    /// <summary>The permitted set, or null for the default of the uid.</summary>
    public ulong? CapPermitted { get; init; }

    /// <summary>The inheritable set, or null for empty.</summary>
    public ulong? CapInheritable { get; init; }

    /// <summary>The bounding set, or null for every capability.</summary>
    public ulong? CapBounding { get; init; }

    /// <summary>The ambient set, or null for empty (trimmed to what is both permitted and inheritable).</summary>
    public ulong? CapAmbient { get; init; }
}

/// <summary>One resource limit (RLIMIT_* number, soft and hard values) to set on a process before it runs.</summary>
public readonly record struct SandboxRlimit(int Resource, ulong Soft, ulong Hard);
