using System.Diagnostics.CodeAnalysis;
using Moat.Abi;

namespace Moat.Sentry.Vfs;

/// <summary>
/// What one file system answers when it is asked for a path: a final result (0, a value, or -errno as the
/// syscall returns it), or "the walk goes on at <see cref="Next"/>" because a symlink on the way leads out of
/// it (Linux's walk crosses file systems inside one loop; ours restarts from the resolved path, up to the
/// 40-hop limit, in <see cref="PathOps"/>).
/// </summary>
internal readonly struct PathStep
{
    private PathStep(long result, string? next)
    {
        Result = result;
        Next = next;
    }

    /// <summary>A finished step: success (0), a value, or -errno. Meaningless when the step continues.</summary>
    public long Result { get; }

    /// <summary>The absolute path the walk continues at, or null when it finished.</summary>
    public string? Next { get; }

    [MemberNotNullWhen(true, nameof(Next))]
    public bool Continues => Next != null;

    public bool Failed => Next == null && Result < 0;

    public static PathStep Ok => default;

    public static PathStep Done(long result) => new(result, null);

    public static PathStep Fail(Errno e) => new(-e.Value, null);

    public static PathStep ContinueAt(string next) => new(0, next);
}
