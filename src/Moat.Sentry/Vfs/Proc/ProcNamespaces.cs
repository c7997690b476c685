using System.Globalization;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// /proc/PID/ns: one link per namespace kind, "kind:[inode]" as Linux names them. The mount namespace is the
/// process's own (it changes with unshare(CLONE_NEWNS)), the pid namespaces the task's (pid_for_children changes
/// with unshare(CLONE_NEWPID)); the sandbox has one namespace of every other kind, numbered as Linux numbers its
/// initial ones. The links can be read (readlink, ls -l), not opened: setns is
/// not supported.
/// </summary>
internal static class ProcNamespaces
{
    public static readonly string[] Names = ["cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"];

    /// <summary>The link's text for namespace kind <paramref name="name"/> of <paramref name="g"/>, or null for no such kind.</summary>
    public static string? Target(ThreadGroup g, Task task, string name, out ulong inode)
    {
        inode = name switch
        {
            "mnt" => g.Mounts.Inode,
            "cgroup" => 0xEFFFFFFB,
            "ipc" => 0xEFFFFFFF,
            "net" => 0xF0000000,
            "pid" => task.PidNs.Inode,
            "pid_for_children" => task.ChildPidNs is { Level: > 0, Init: null } ? 0 : task.ChildPidNs.Inode, // none until its init exists

            "time" or "time_for_children" => 0xEFFFFFFA,
            "user" => 0xEFFFFFFD,
            "uts" => 0xEFFFFFFE,
            _ => 0,
        };
        if (inode == 0)
        {
            return null;
        }

        string kind = name.EndsWith("_for_children", System.StringComparison.Ordinal) ? name[..name.IndexOf('_', System.StringComparison.Ordinal)] : name;
        return kind + ":[" + inode.ToString(CultureInfo.InvariantCulture) + "]";
    }
}
