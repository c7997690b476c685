using System;
using System.Collections.Generic;

namespace Moat.Sentry.Vfs.Sys;

/// <summary>
/// One node of the sandbox's sysfs: a directory with its children in listing order, a read-only file whose
/// text is made when it is opened, or a symbolic link with a target relative to its directory.
/// </summary>
internal sealed class SysTree
{
    private SysTree(string name, Proc.ProcKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    public Proc.ProcKind Kind { get; }

    /// <summary>A file's text. Null for directories and links.</summary>
    public Func<string>? Content { get; private init; }

    /// <summary>A link's target, as readlink(2) shows it. Null for directories and files.</summary>
    public string? Target { get; private init; }

    /// <summary>A directory's children, in the order getdents lists them. Immutable once the tree is built.</summary>
    public List<SysTree> Children { get; } = [];

    /// <summary>The number of subdirectories, for st_nlink (2 plus them, as kernfs counts).</summary>
    public int Subdirectories { get; private set; }

    public static SysTree Dir(string name, params SysTree[] children)
    {
        var d = new SysTree(name, Proc.ProcKind.Directory);
        foreach (SysTree c in children)
        {
            d.Add(c);
        }

        return d;
    }

    public static SysTree File(string name, string text) => new(name, Proc.ProcKind.File) { Content = () => text };

    public static SysTree File(string name, Func<string> text) => new(name, Proc.ProcKind.File) { Content = text };

    public static SysTree Link(string name, string target) => new(name, Proc.ProcKind.Link) { Target = target };

    public SysTree Add(SysTree child)
    {
        Children.Add(child);
        if (child.Kind == Proc.ProcKind.Directory)
        {
            Subdirectories++;
        }

        return this;
    }

    public SysTree? Child(string name)
    {
        foreach (SysTree c in Children)
        {
            if (c.Name == name)
            {
                return c;
            }
        }

        return null;
    }
}
