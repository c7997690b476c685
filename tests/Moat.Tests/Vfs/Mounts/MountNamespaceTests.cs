using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs.Mounts;
using TmpfsFs = Moat.Sentry.Vfs.Tmpfs.Tmpfs;

namespace Moat.Tests.Vfs.Mounts;

public sealed class MountNamespaceTests : IDisposable
{
    private readonly MemoryFile _mf = new();
    private readonly MountNamespace _ns = new(new Mount
    {
        Id = MountNamespace.NextId(), ParentId = 0, MountPoint = "/", Kind = MountKind.Overlay, Root = "/", Source = "none", FsType = "overlay",
    });

    public void Dispose() => _mf.Dispose();

    private Mount AddTmpfs(string at, string root = "") => _ns.Add(new Mount
    {
        Id = MountNamespace.NextId(), ParentId = 0, MountPoint = at, Kind = MountKind.Tmpfs, Tmpfs = new TmpfsFs(_mf, at, 0x3FF), Root = root,
        Source = "tmpfs", FsType = "tmpfs",
    });

    [Fact]
    public void Find_TheDeepestMount_WithThePathInItsFileSystem()
    {
        Mount tmp = AddTmpfs("/tmp");
        Mount inner = AddTmpfs("/tmp/a/b");
        Assert.Same(_ns.Root, _ns.Find("/usr/lib", out string rootPath));
        Assert.Equal("/usr/lib", rootPath);
        Assert.Same(tmp, _ns.Find("/tmp/a", out string rel));
        Assert.Equal("a", rel);
        Assert.Same(inner, _ns.Find("/tmp/a/b/c", out rel));
        Assert.Equal("c", rel);
        Assert.Same(inner, _ns.Find("/tmp/a/b", out rel));
        Assert.Equal(string.Empty, rel);
        Assert.Same(_ns.Root, _ns.Find("/tmpx", out _)); // a prefix of a name is not a parent
        Assert.Equal(tmp.Id, inner.ParentId);
    }

    [Fact]
    public void Pivot_MakesTheNewRootTheRoot_AndPutsTheOldOneBelowIt()
    {
        Mount proc = _ns.Add(_ns.Root with { Id = MountNamespace.NextId(), MountPoint = "/proc", Kind = MountKind.Proc, Root = "/proc" });
        Mount newRoot = AddTmpfs("/new");
        Mount onNew = AddTmpfs("/new/run");
        Func<string, string>? moved = _ns.Pivot(newRoot, "/", "/new", "/new/old");
        Assert.NotNull(moved);
        Assert.Equal(newRoot.Id, _ns.Root.Id); // the new root is the namespace's root mount
        Assert.Equal("/", _ns.Root.MountPoint);
        Assert.True(_ns.ForeignRoot);
        Assert.Equal(onNew.Id, _ns.Find("/run/x", out string rel).Id);
        Assert.Equal("x", rel);
        Mount oldRoot = _ns.Find("/old/usr", out string overlayPath);
        Assert.Equal(MountKind.Overlay, oldRoot.Kind);
        Assert.Equal("/usr", overlayPath);
        Assert.Equal(newRoot.Id, oldRoot.ParentId);
        Assert.Equal(proc.Id, _ns.Find("/old/proc/self", out _).Id);
        Assert.Equal("/old/var/tmp", moved!("/var/tmp"));
        Assert.Equal("/etc", moved("/new/etc"));
        Assert.Equal("/old", moved("/"));
    }

    [Fact]
    public void Pivot_OnTheNewRootItself_StacksTheOldRootOnTop_UntilItIsDetached()
    {
        Mount newRoot = AddTmpfs("/q");
        Assert.NotNull(_ns.Pivot(newRoot, "/", "/q", "/q"));
        Mount top = _ns.Find("/etc", out _);
        Assert.Equal(MountKind.Overlay, top.Kind); // pivot_root(".", "."): the old root hides the new one
        Assert.Equal(Errno.None, _ns.Remove(_ns.MountedAt("/")!, detach: true));
        Assert.Equal(newRoot.Id, _ns.Find("/etc", out _).Id);
    }

    [Fact]
    public void Views_NameEveryPlaceThatShowsAPath()
    {
        // /srv of the overlay bound at /mnt/b and /mnt/c; a tmpfs at /tmp with its directory d bound at /w.
        Mount b = _ns.Add(_ns.Root with { Id = MountNamespace.NextId(), MountPoint = "/mnt/b", Root = "/srv" });
        _ns.Add(_ns.Root with { Id = MountNamespace.NextId(), MountPoint = "/mnt/c", Root = "/srv" });
        Mount tmp = AddTmpfs("/tmp");
        _ns.Add(tmp with { Id = MountNamespace.NextId(), MountPoint = "/w", Root = "d" });

        Assert.Equal([("/mnt/b/f", "/mnt/b/g"), ("/srv/f", "/srv/g"), ("/mnt/c/f", "/mnt/c/g")], _ns.Views("/mnt/b/f", "/mnt/b/g"));
        Assert.Equal([("/srv/x/y", (string?)null), ("/mnt/b/x/y", null), ("/mnt/c/x/y", null)], _ns.Views("/srv/x/y", null));
        Assert.Equal([("/etc/f", (string?)null)], _ns.Views("/etc/f", null)); // outside the bound directory
        Assert.Equal([("/mnt/b", (string?)null), ("/srv", null), ("/mnt/c", null)], _ns.Views("/mnt/b", null));
        Assert.Equal([("/tmp/d/e", (string?)null), ("/w/e", null)], _ns.Views("/tmp/d/e", null));
        Assert.Equal([("/w/e", "/w/f"), ("/tmp/d/e", "/tmp/d/f")], _ns.Views("/w/e", "/w/f"));
        Assert.Equal([("/tmp/x", (string?)null)], _ns.Views("/tmp/x", null)); // not below the bind's root

        // A rename out of what a bind shows moves nothing seen through it; paths hidden by a mount are no place.
        Assert.Equal([("/tmp/d/e", "/tmp/e")], _ns.Views("/tmp/d/e", "/tmp/e"));
        Assert.Equal([("/srv/f", (string?)null), ("/mnt/b/f", null), ("/mnt/c/f", null)], _ns.Views("/srv/f", null));
        Assert.Equal([("/mnt/b/f", (string?)null), ("/srv/f", null), ("/mnt/c/f", null)], _ns.Views("/mnt/b/f", null));
        Assert.Same(b, _ns.Find("/mnt/b/f", out _));
    }

    [Fact]
    public void Find_InABind_PrefixesTheBoundDirectory()
    {
        Mount tmp = AddTmpfs("/tmp");
        Mount bind = _ns.Add(tmp with { Id = MountNamespace.NextId(), MountPoint = "/mnt", Root = "x/y" });
        Assert.Same(bind, _ns.Find("/mnt/z", out string rel));
        Assert.Equal("x/y/z", rel);
        _ns.Find("/mnt", out rel);
        Assert.Equal("x/y", rel);

        Mount overlayBind = _ns.Add(_ns.Root with { Id = MountNamespace.NextId(), MountPoint = "/srv/usr", Root = "/usr" });
        Assert.Same(overlayBind, _ns.Find("/srv/usr/lib", out string path));
        Assert.Equal("/usr/lib", path);
    }

    [Fact]
    public void AMountOnTheSamePointOrAbove_HidesTheEarlierOne_UntilItGoes()
    {
        Mount first = AddTmpfs("/mnt");
        Mount child = AddTmpfs("/mnt/sub");
        Mount second = AddTmpfs("/mnt");
        Assert.Same(second, _ns.Find("/mnt/sub/f", out string rel));
        Assert.Equal("sub/f", rel);
        Assert.Equal(Errno.None, _ns.Remove(second, detach: false));
        Assert.Same(child, _ns.Find("/mnt/sub/f", out _));
        Assert.Same(first, _ns.MountedAt("/mnt"));
    }

    [Fact]
    public void Remove_AMountWithMountsOnIt_IsBusy_UnlessDetached()
    {
        Mount top = AddTmpfs("/mnt");
        AddTmpfs("/mnt/a");
        AddTmpfs("/mnt/a/b");
        Mount other = AddTmpfs("/other");
        Assert.Equal(Errno.EBUSY, _ns.Remove(top, detach: false));
        Assert.Equal(Errno.None, _ns.Remove(top, detach: true));
        Assert.Same(_ns.Root, _ns.Find("/mnt/a/b/c", out _));
        Assert.Same(other, _ns.MountedAt("/other"));
        Assert.Equal(Errno.EINVAL, _ns.Remove(top, detach: true));
    }

    [Fact]
    public void Clone_IsIndependent_WithNewIds()
    {
        Mount tmp = AddTmpfs("/tmp");
        MountNamespace copy = _ns.Clone();
        Mount copied = copy.MountedAt("/tmp")!;
        Assert.NotEqual(tmp.Id, copied.Id);
        Assert.Equal(copy.Root.Id, copied.ParentId);
        Assert.Same(tmp.Tmpfs, copied.Tmpfs);
        copy.Add(copied with { Id = MountNamespace.NextId(), MountPoint = "/mnt" });
        Assert.Null(_ns.MountedAt("/mnt"));
        Assert.NotNull(copy.MountedAt("/mnt"));
    }

    [Fact]
    public void Move_TakesTheMountsOnIt_Along()
    {
        Mount m = AddTmpfs("/a");
        AddTmpfs("/a/b");
        Assert.True(_ns.Move(m, "/c/d"));
        Assert.Null(_ns.MountedAt("/a"));
        Assert.Null(_ns.MountedAt("/a/b"));
        Assert.Equal(m.Id, _ns.MountedAt("/c/d")!.Id);
        Assert.NotNull(_ns.MountedAt("/c/d/b"));
    }

    [Theory]
    [InlineData("size=64k", true, 16L)]
    [InlineData("size=1m", true, 256L)]
    [InlineData("size=0x2000", true, 2L)]
    [InlineData("size=50%", true, 128L)]
    [InlineData("nr_blocks=7", true, 7L)]
    [InlineData("size=", false, 0L)]
    [InlineData("size=12q", false, 0L)]
    [InlineData("bogus", false, 0L)]
    public void TmpfsOptions_ParseAsShmemDoes(string option, bool ok, long pages)
    {
        Assert.Equal(ok, MountOptions.TryParseTmpfs([option], 1 << 20, out long maxPages, out _, out _, out _));
        if (ok)
        {
            Assert.Equal(pages, maxPages);
        }
    }

    [Fact]
    public void TextOptions_SplitIntoFlagsAndData()
    {
        (ulong flags, List<string> data) = MountOptions.Parse(["ro", "nosuid", "size=1m", "rbind", "rprivate", "mode=700", "rw"]);
        Assert.Equal(MountOptions.MS_NOSUID | MountOptions.MS_BIND | MountOptions.MS_REC, flags);
        Assert.Equal(["size=1m", "mode=700"], data);
        Assert.True(MountOptions.TryParseTmpfs(["mode=1755", "uid=5", "gid=6"], 0, out _, out uint? mode, out uint? uid, out uint? gid));
        Assert.Equal(0x3EDu, mode);
        Assert.Equal(5u, uid);
        Assert.Equal(6u, gid);
        Assert.False(MountOptions.TryParseTmpfs(["mode=9"], 0, out _, out _, out _, out _));
        Assert.Equal(MountFlags.ReadOnly | MountFlags.NoExec | MountFlags.NoAtime, MountOptions.FromMs(MountOptions.MS_RDONLY | MountOptions.MS_NOEXEC | MountOptions.MS_NOATIME));
    }
}
