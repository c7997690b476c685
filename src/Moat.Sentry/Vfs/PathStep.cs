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

    /// <summary>
    /// A symlink's target joined to the link's directory <paramref name="dir"/> (an absolute namespace path
    /// without links): the target's leading "." and ".." are applied here, as the walk would apply them to a
    /// directory it just passed, so the file system the walk continues on never has to climb out of a
    /// directory it may not have (a volume's or a tmpfs's mount point exists only in the sandbox).
    /// </summary>
    public static string LinkTarget(string dir, string target)
    {
        if (target.StartsWith('/'))
        {
            return target;
        }

        dir = dir.TrimEnd('/');
        if (dir.Length == 0)
        {
            dir = "/";
        }

        int at = 0;
        while (at < target.Length)
        {
            int end = target.IndexOf('/', at);
            if (end < 0)
            {
                end = target.Length;
            }

            int len = end - at;
            if (len == 2 && target[at] == '.' && target[at + 1] == '.')
            {
                int cut = dir.LastIndexOf('/');
                dir = cut <= 0 ? "/" : dir[..cut];
            }
            else if (len > 1 || (len == 1 && target[at] != '.'))
            {
                break;
            }

            at = end + 1;
        }

        string rest = at < target.Length ? target[at..] : string.Empty;
        return rest.Length == 0 ? dir : dir.Length == 1 ? "/" + rest : dir + "/" + rest;
    }
}
