using System;
using Moat.Abi;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Tmpfs;
using TmpfsFs = Moat.Sentry.Vfs.Tmpfs.Tmpfs;

namespace Moat.Tests.Vfs.Tmpfs;

public sealed class TmpfsTests : IDisposable
{
    private readonly MemoryFile _mf = new();
    private readonly TmpfsFs _fs;

    public TmpfsTests()
    {
        _fs = new TmpfsFs(_mf, "/tmp", 0x3FF);
    }

    public void Dispose() => _mf.Dispose();

    private TmpfsDirectory Dir(TmpfsDirectory parent, string name)
    {
        var d = new TmpfsDirectory(_fs, parent, 0x1ED, 0, 0);
        parent.Children[name] = d;
        parent.Nlink++;
        return d;
    }

    private TmpfsRegular File(TmpfsDirectory parent, string name)
    {
        var f = new TmpfsRegular(_fs, 0x1A4, 0, 0);
        parent.Children[name] = f;
        return f;
    }

    private TmpfsSymlink Link(TmpfsDirectory parent, string name, string target)
    {
        var l = new TmpfsSymlink(_fs, target, 0, 0);
        parent.Children[name] = l;
        return l;
    }

    [Fact]
    public void Constructor_Root_IsDirectoryWithPermsAndOwnParent()
    {
        Assert.Equal(Stat.S_IFDIR | 0x3FFu, _fs.Root.Mode);
        Assert.Same(_fs.Root, _fs.Root.Parent);
        Assert.Equal("/tmp", _fs.MountPoint);
        Assert.Equal(2UL, _fs.Root.Nlink);
    }

    [Fact]
    public void Constructor_TwoFileSystems_HaveDistinctDevices()
    {
        var other = new TmpfsFs(_mf, "/dev/shm", 0x3FF);

        Assert.NotEqual(_fs.Device, other.Device);
    }

    [Fact]
    public void NextIno_Nodes_GetDistinctInodeNumbers()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        TmpfsRegular b = File(_fs.Root, "b");

        Assert.NotEqual(_fs.Root.Ino, a.Ino);
        Assert.NotEqual(a.Ino, b.Ino);
        Assert.NotEqual(_fs.Root.Ino, b.Ino);
    }

    [Fact]
    public void WalkLocked_EmptyPath_ReturnsRoot()
    {
        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked(string.Empty, followLast: true, out TmpfsNode? node);
            string? restart = step.Next;

            Assert.Equal(0, step.Result);
            Assert.Same(_fs.Root, node);
            Assert.Null(restart);
        }
    }

    [Fact]
    public void WalkLocked_NestedPath_ReturnsNode()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        TmpfsDirectory b = Dir(a, "b");
        TmpfsRegular f = File(b, "f");

        lock (_fs.Mu)
        {
            Assert.Equal(0, _fs.WalkLocked("a", followLast: true, out TmpfsNode? na).Result);
            Assert.Same(a, na);
            PathStep step = _fs.WalkLocked("a/b/f", followLast: true, out TmpfsNode? nf);
            Assert.Equal(0, step.Result);
            string? restart = step.Next;
            Assert.Same(f, nf);
            Assert.Null(restart);
        }
    }

    [Fact]
    public void WalkLocked_Missing_ReturnsENOENT()
    {
        Dir(_fs.Root, "a");

        lock (_fs.Mu)
        {
            Assert.Equal(-Errno.ENOENT.Value, _fs.WalkLocked("nope", followLast: true, out TmpfsNode? n1).Result);
            Assert.Null(n1);
            Assert.Equal(-Errno.ENOENT.Value, _fs.WalkLocked("a/nope", followLast: true, out TmpfsNode? n2).Result);
            Assert.Null(n2);
            Assert.Equal(-Errno.ENOENT.Value, _fs.WalkLocked("nope/x", followLast: true, out _).Result);
        }
    }

    [Fact]
    public void WalkLocked_ThroughRegularFile_ReturnsENOTDIR()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        File(a, "f");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("a/f/x", followLast: true, out TmpfsNode? node);
            string? restart = step.Next;

            Assert.Equal(-Errno.ENOTDIR.Value, step.Result);
            Assert.Null(node);
            Assert.Null(restart);
        }
    }

    [Fact]
    public void WalkLocked_RelativeSymlinkInMiddle_RestartsFromLinkDirectoryWithRest()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        Link(a, "l", "target/dir");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("a/l/c/d", followLast: true, out TmpfsNode? node);
            string? restart = step.Next;

            Assert.True(step.Continues);
            Assert.Null(node);
            Assert.NotNull(restart);
            Assert.Equal("/tmp/a/target/dir/c/d", PathResolver.Normalize(restart!));
        }
    }

    [Fact]
    public void WalkLocked_RelativeSymlinkAtTop_ResolvesAgainstMountPoint()
    {
        Link(_fs.Root, "l", "x");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("l/y", followLast: true, out _);
            string? restart = step.Next;

            Assert.True(step.Continues);
            Assert.Equal("/tmp/x/y", PathResolver.Normalize(restart!));
        }
    }

    [Fact]
    public void WalkLocked_RelativeSymlinkWithDotDot_ResolvesAgainstLinkDirectory()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        TmpfsDirectory b = Dir(a, "b");
        Link(b, "up", "../sibling");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("a/b/up/z", followLast: true, out _);
            string? restart = step.Next;

            Assert.True(step.Continues);
            Assert.Equal("/tmp/a/sibling/z", PathResolver.Normalize(restart!));
        }
    }

    [Fact]
    public void WalkLocked_AbsoluteSymlinkInMiddle_KeepsTargetAndAppendsRest()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        Link(a, "l", "/etc");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("a/l/c/d", followLast: true, out TmpfsNode? node);
            string? restart = step.Next;

            Assert.True(step.Continues);
            Assert.Null(node);
            Assert.Equal("/etc/c/d", restart);
        }
    }

    [Fact]
    public void WalkLocked_SymlinkLastFollowed_RestartsAtTarget()
    {
        Link(_fs.Root, "abs", "/usr/bin");
        TmpfsDirectory a = Dir(_fs.Root, "a");
        Link(a, "rel", "f");

        lock (_fs.Mu)
        {
            PathStep r1s = _fs.WalkLocked("abs", followLast: true, out _);
            Assert.True(r1s.Continues);
            string? r1 = r1s.Next;
            Assert.Equal("/usr/bin", r1);
            PathStep r2s = _fs.WalkLocked("a/rel", followLast: true, out _);
            Assert.True(r2s.Continues);
            string? r2 = r2s.Next;
            Assert.Equal("/tmp/a/f", PathResolver.Normalize(r2!));
        }
    }

    [Fact]
    public void WalkLocked_SymlinkLastNotFollowed_ReturnsLinkItself()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        TmpfsSymlink l = Link(a, "l", "/etc");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("a/l", followLast: false, out TmpfsNode? node);
            string? restart = step.Next;

            Assert.Equal(0, step.Result);
            Assert.Same(l, node);
            Assert.Null(restart);
        }
    }

    [Fact]
    public void WalkLocked_SymlinkInMiddleWithFollowLastFalse_StillRestarts()
    {
        Link(_fs.Root, "l", "/etc");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkLocked("l/passwd", followLast: false, out TmpfsNode? node);
            string? restart = step.Next;

            Assert.True(step.Continues);
            Assert.Null(node);
            Assert.Equal("/etc/passwd", restart);
        }
    }

    [Fact]
    public void WalkParentLocked_NestedPath_SplitsParentAndName()
    {
        TmpfsDirectory a = Dir(_fs.Root, "a");
        TmpfsDirectory b = Dir(a, "b");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkParentLocked("a/b/new", out TmpfsDirectory? parent, out string name);
            string? restart = step.Next;

            Assert.Equal(0, step.Result);
            Assert.Same(b, parent);
            Assert.Equal("new", name);
            Assert.Null(restart);
        }
    }

    [Fact]
    public void WalkParentLocked_TopLevelName_ParentIsRoot()
    {
        lock (_fs.Mu)
        {
            long r = _fs.WalkParentLocked("new", out TmpfsDirectory? parent, out string name).Result;

            Assert.Equal(0, r);
            Assert.Same(_fs.Root, parent);
            Assert.Equal("new", name);
        }
    }

    [Fact]
    public void WalkParentLocked_NameOf255Bytes_IsAccepted()
    {
        lock (_fs.Mu)
        {
            long r = _fs.WalkParentLocked(new string('n', 255), out TmpfsDirectory? parent, out string name).Result;

            Assert.Equal(0, r);
            Assert.Same(_fs.Root, parent);
            Assert.Equal(255, name.Length);
        }
    }

    [Fact]
    public void WalkParentLocked_NameOf256Bytes_ReturnsENAMETOOLONG()
    {
        Dir(_fs.Root, "a");

        lock (_fs.Mu)
        {
            Assert.Equal(-Errno.ENAMETOOLONG.Value, _fs.WalkParentLocked("a/" + new string('n', 256), out TmpfsDirectory? parent, out _).Result);
            Assert.Null(parent);

            // 128 two-byte characters: 256 bytes of UTF-8.
            Assert.Equal(-Errno.ENAMETOOLONG.Value, _fs.WalkParentLocked(new string('\u00e9', 128), out _, out _).Result);
        }
    }

    [Fact]
    public void WalkParentLocked_MountRoot_ReturnsEEXIST()
    {
        lock (_fs.Mu)
        {
            long r = _fs.WalkParentLocked(string.Empty, out TmpfsDirectory? parent, out string name).Result;

            Assert.Equal(-Errno.EEXIST.Value, r);
            Assert.Null(parent);
            Assert.Equal(string.Empty, name);
        }
    }

    [Fact]
    public void WalkParentLocked_MissingParent_ReturnsENOENT()
    {
        lock (_fs.Mu)
        {
            Assert.Equal(-Errno.ENOENT.Value, _fs.WalkParentLocked("nope/new", out TmpfsDirectory? parent, out _).Result);
            Assert.Null(parent);
        }
    }

    [Fact]
    public void WalkParentLocked_ParentIsRegularFile_ReturnsENOTDIR()
    {
        File(_fs.Root, "f");

        lock (_fs.Mu)
        {
            Assert.Equal(-Errno.ENOTDIR.Value, _fs.WalkParentLocked("f/new", out TmpfsDirectory? parent, out _).Result);
            Assert.Null(parent);
        }
    }

    [Fact]
    public void WalkParentLocked_ParentThroughSymlink_Restarts()
    {
        Link(_fs.Root, "l", "/etc");

        lock (_fs.Mu)
        {
            PathStep step = _fs.WalkParentLocked("l/new", out TmpfsDirectory? parent, out string name);
            string? restart = step.Next;

            Assert.True(step.Continues);
            Assert.Null(parent);
            Assert.Equal("new", name);
            Assert.Equal("/etc", restart);
        }
    }

    [Fact]
    public void Unlinked_LastLinkAndNotOpen_ReleasesData()
    {
        TmpfsRegular f = File(_fs.Root, "f");
        ulong before = _mf.UsageBytes;
        Assert.Equal(5000, f.Write(0, new byte[5000]));
        Assert.True(_mf.UsageBytes > before);

        lock (_fs.Mu)
        {
            _fs.Root.Children.Remove("f");
            TmpfsFs.Unlinked(f);
        }

        Assert.Equal(0UL, f.Nlink);
        Assert.Equal(0, f.Size);
        Assert.Equal(before, _mf.UsageBytes);
    }

    [Fact]
    public void Unlinked_StillOpen_KeepsData()
    {
        TmpfsRegular f = File(_fs.Root, "f");
        byte[] data = [1, 2, 3, 4, 5];
        f.Write(0, data);
        ulong used = _mf.UsageBytes;
        f.OpenCount = 1;

        lock (_fs.Mu)
        {
            _fs.Root.Children.Remove("f");
            TmpfsFs.Unlinked(f);
        }

        Assert.Equal(0UL, f.Nlink);
        Assert.Equal(5, f.Size);
        Assert.Equal(used, _mf.UsageBytes);
        byte[] back = new byte[5];
        Assert.Equal(5, f.Read(0, back));
        Assert.Equal(data, back);
    }

    [Fact]
    public void Unlinked_OtherLinksRemain_KeepsData()
    {
        TmpfsRegular f = File(_fs.Root, "f");
        _fs.Root.Children["g"] = f;
        f.Nlink = 2;
        f.Write(0, new byte[] { 7 });
        ulong used = _mf.UsageBytes;

        lock (_fs.Mu)
        {
            _fs.Root.Children.Remove("f");
            TmpfsFs.Unlinked(f);
        }

        Assert.Equal(1UL, f.Nlink);
        Assert.Equal(1, f.Size);
        Assert.Equal(used, _mf.UsageBytes);
    }

    [Fact]
    public void Unlinked_NlinkAlreadyZero_StaysZero()
    {
        TmpfsSymlink l = Link(_fs.Root, "l", "x");
        l.Nlink = 0;

        lock (_fs.Mu)
        {
            TmpfsFs.Unlinked(l);
        }

        Assert.Equal(0UL, l.Nlink);
    }
}
