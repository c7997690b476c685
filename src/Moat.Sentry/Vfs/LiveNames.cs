using System;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Keeps the names that live objects hold (open files' paths, working directories, roots) true when the
/// sandbox renames or removes what they name. In Linux these are dentries, so a rename moves them and an
/// unlink marks them deleted; here they are paths of the mount namespace, rewritten after the change: a
/// process whose working directory was renamed keeps creating files in it, openat on a descriptor of a
/// renamed directory finds it, and /proc/PID/fd and /proc/PID/maps show the new name or " (deleted)".
/// Paths hold no symlinks (opens resolve them), so a change is matched after its parent's links are
/// resolved; a cheap scan for the last component first keeps renames and unlinks that name nothing held free of
/// that walk. What a change names is seen at every mount of its file system that shows it (a directory bound at
/// two places), and each of those names is rewritten (<see cref="Mounts.MountNamespace.Views"/>).
/// Changes made on the host behind the sandbox's back are not seen (gVisor revalidates; we do not).
/// </summary>
internal static class LiveNames
{
    private static int _stamp;

    /// <summary>After rename(from, to) succeeded: what was at <paramref name="to"/> is gone, what was at from is there.</summary>
    public static void Renamed(Task t, string from, string to)
    {
        from = PathResolver.Normalize(from);
        to = PathResolver.Normalize(to);
        if (Held(t, to, below: false, out bool toLexical))
        {
            foreach ((string at, _) in t.Group.Mounts.Views(Canonical(t, to, toLexical), null))
            {
                Rewrite(t, new Change(at, null, Unlink: true));
            }
        }

        if (Held(t, from, below: true, out bool fromLexical))
        {
            // Within one directory (the common rename) the new name's parent is as link-free as the old one's.
            bool sameParent = fromLexical && Parent(from).SequenceEqual(Parent(to));
            foreach ((string at, string? next) in t.Group.Mounts.Views(Canonical(t, from, fromLexical), Canonical(t, to, sameParent)))
            {
                Rewrite(t, new Change(at, next, Unlink: false));
            }
        }
    }

    /// <summary>After RENAME_EXCHANGE of a and b succeeded.</summary>
    public static void Exchanged(Task t, string a, string b)
    {
        a = PathResolver.Normalize(a);
        b = PathResolver.Normalize(b);
        if (!Held(t, a, below: true, out _) && !Held(t, b, below: true, out _))
        {
            return;
        }

        foreach ((string at, string? other) in t.Group.Mounts.Views(Canonical(t, a, lexical: false), Canonical(t, b, lexical: false)))
        {
            // Through a name no path holds ("//" never survives normalisation), so the two moves do not meet.
            const string Parking = "//exchange";
            Rewrite(t, new Change(at, Parking, Unlink: false));
            Rewrite(t, new Change(other!, at, Unlink: false));
            Rewrite(t, new Change(Parking, other, Unlink: false));
        }
    }

    /// <summary>After unlink or rmdir of <paramref name="path"/> succeeded: descriptions opened by that name are deleted.</summary>
    public static void Removed(Task t, string path)
    {
        path = PathResolver.Normalize(path);
        if (Held(t, path, below: false, out bool lexical))
        {
            foreach ((string at, _) in t.Group.Mounts.Views(Canonical(t, path, lexical), null))
            {
                Rewrite(t, new Change(at, null, Unlink: true));
            }
        }
    }

    /// <summary>
    /// After pivot_root: every held name of the namespace is mapped by <paramref name="moved"/>, except the
    /// working directories and roots that are the old root itself (chroot_fs_refs moves those to the new root,
    /// which now has the old root's path).
    /// </summary>
    public static void Pivoted(Task t, string root, Func<string, string> moved)
    {
        var remap = new Remap(root, moved);
        Visit(t, ref remap);
    }

    private static ReadOnlySpan<char> Parent(string norm) => norm.AsSpan(0, Math.Max(norm.LastIndexOf('/'), 0));

    // The name as live objects hold it: the parent's links resolved (rename and unlink never follow the last
    // component), unless the path as written is already a prefix of a held (link-free) name.
    private static string Canonical(Task t, string norm, bool lexical)
    {
        int cut = norm.LastIndexOf('/');
        if (lexical || cut <= 0)
        {
            return norm;
        }

        string parent = PathResolver.Normalize(PathOps.ResolveLinks(t, norm[..cut]));
        return parent == "/" ? norm[cut..] : string.Concat(parent, norm.AsSpan(cut));
    }

    // Whether any live name may be the path (ends with its last component) or, when `below`, lie below it (has
    // that component anywhere): a cheap test that spares most renames and unlinks the walk of Canonical. And
    // whether one is at or below the path as written (then its parent is link-free: a prefix of a resolved name).
    private static bool Held(Task t, string norm, bool below, out bool lexical)
    {
        int cut = norm.LastIndexOf('/');
        lexical = false;
        if (norm.Length <= 1 || cut < 0)
        {
            return false;
        }

        var probe = new Probe(norm, cut, below);
        Visit(t, ref probe);
        lexical = probe.Lexical;
        return probe.Found;
    }

    private static void Rewrite(Task t, Change change)
    {
        Visit(t, ref change);
    }

    // Every working directory, root, open description and file mapping of the caller's mount namespace (names
    // are paths of it), each fd table and address space once. TreeMu > FdTable._mu, TreeMu > MemoryManager._mu;
    // the visitors take no lock and release nothing.
    private static void Visit<TVisitor>(Task t, ref TVisitor visitor)
        where TVisitor : struct, INameVisitor
    {
        Mounts.MountNamespace ns = t.Group.Mounts;
        lock (t.Kernel.TreeMu)
        {
            int stamp = ++_stamp;
            foreach (ThreadGroup g in t.Kernel.AllGroupsLocked())
            {
                if (g.Mounts != ns)
                {
                    continue;
                }

                g.Cwd = visitor.Name(g.Cwd, ofProcess: true, out _) ?? g.Cwd;
                g.Root = visitor.Name(g.Root, ofProcess: true, out _) ?? g.Root;
                if (g.ExecutablePath is { } exe)
                {
                    g.ExecutablePath = visitor.Name(exe, ofProcess: false, out _) ?? exe;
                }

                foreach (Task member in g.Tasks)
                {
                    FdTable table = member.Fds;
                    if (table.NameStamp != stamp)
                    {
                        table.NameStamp = stamp;
                        table.VisitFiles(ref visitor);
                    }

                    Mm.MemoryManager mm = member.MM;
                    if (mm.NameStamp != stamp)
                    {
                        mm.NameStamp = stamp;
                        mm.VisitNames(ref visitor);
                    }
                }
            }
        }
    }

    /// <summary>What a walk over live names does with each.</summary>
    internal interface INameVisitor
    {
        /// <summary>
        /// The name's new value, or null to keep it; <paramref name="unlinked"/> when the object is gone.
        /// <paramref name="ofProcess"/>: a working directory, root or executable, not an open description.
        /// </summary>
        string? Name(string name, bool ofProcess, out bool unlinked);
    }

    // norm[cut..]: "/" and the last component (a span of it: an unlink allocates nothing here).
    private struct Probe(string norm, int cut, bool below) : INameVisitor
    {
        public bool Found;
        public bool Lexical;

        public string? Name(string name, bool ofProcess, out bool unlinked)
        {
            unlinked = false;
            if (Lexical)
            {
                return null;
            }

            if (below ? Covers(norm, name) : name.Length == norm.Length && name == norm)
            {
                Found = Lexical = true;
            }
            else if (!Found && (below ? HasComponent(name, norm.AsSpan(cut)) : name.AsSpan().EndsWith(norm.AsSpan(cut), StringComparison.Ordinal)))
            {
                Found = true;
            }

            return null;
        }
    }

    private readonly struct Remap(string root, Func<string, string> moved) : INameVisitor
    {
        public string? Name(string name, bool ofProcess, out bool unlinked)
        {
            unlinked = false;
            return ofProcess && name == root ? null : moved(name);
        }
    }

    private readonly record struct Change(string From, string? To, bool Unlink) : INameVisitor
    {
        public string? Name(string name, bool ofProcess, out bool unlinked)
        {
            unlinked = false;
            if (!Covers(From, name))
            {
                return null;
            }

            if (Unlink)
            {
                // Only the object itself: below a removed directory there is nothing (rmdir needs it empty).
                unlinked = name.Length == From.Length;
                return null;
            }

            return name.Length == From.Length ? To : string.Concat(To, name.AsSpan(From.Length));
        }
    }

    // Whether `name` is `path` or lies below it.
    private static bool Covers(string path, string name) =>
        name.StartsWith(path, StringComparison.Ordinal) && (name.Length == path.Length || name[path.Length] == '/');

    // Whether "/component" occurs in name as a whole component.
    private static bool HasComponent(string name, ReadOnlySpan<char> slashComponent)
    {
        for (int from = 0; from < name.Length;)
        {
            int at = name.AsSpan(from).IndexOf(slashComponent, StringComparison.Ordinal);
            if (at < 0)
            {
                return false;
            }

            int end = from + at + slashComponent.Length;
            if (end == name.Length || name[end] == '/')
            {
                return true;
            }

            from += at + 1;
        }

        return false;
    }
}
