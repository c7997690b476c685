using System;
using System.IO;
using System.Text;
using System.Threading;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;

namespace Moat.Tests.Gofer;

/// <summary>
/// The gofer's volumes, through the real protocol (a GoferClient on one end of a socket pair, the server on
/// a thread): every way out of a volume is refused with EXDEV and changes nothing outside; a read-only
/// volume answers EROFS in Linux's order and changes nothing at all; a read-write one writes through.
/// </summary>
public sealed class GoferVolumeTests : IDisposable
{
    private const string OutsideText = "OUTSIDE the volume\n";

    private readonly string _top;
    private readonly string _rw;
    private readonly string _ro;
    private readonly GoferClient _client;
    private readonly Thread _serverThread;
    private readonly SafeFdHandle _serverEnd;
    private readonly SafeFdHandle _rootFd;

    public GoferVolumeTests()
    {
        _top = Path.Combine(Path.GetTempPath(), "moat-gofer-volume-" + Guid.NewGuid().ToString("N"));
        _rw = Path.Combine(_top, "rw");
        _ro = Path.Combine(_top, "ro");
        foreach (string v in new[] { _rw, _ro })
        {
            Directory.CreateDirectory(Path.Combine(v, "sub"));
            File.WriteAllText(Path.Combine(v, "f"), "inside\n");
            File.CreateSymbolicLink(Path.Combine(v, "up"), "../outside.txt");
            File.CreateSymbolicLink(Path.Combine(v, "abs"), Path.Combine(_top, "outside.txt"));
            Directory.CreateSymbolicLink(Path.Combine(v, "updir"), "..");
            Directory.CreateSymbolicLink(Path.Combine(v, "absdir"), _top);
            File.CreateSymbolicLink(Path.Combine(v, "inlink"), "sub/../f");
        }

        Directory.CreateDirectory(Path.Combine(_top, "outdir"));
        File.WriteAllText(Path.Combine(_top, "outside.txt"), OutsideText);

        _rootFd = GoferServer.OpenRoot(_top, out _)!;
        var volumes = new[]
        {
            new VolumeRoot(GoferServer.OpenRoot(_rw, out _)!, readOnly: false),
            new VolumeRoot(GoferServer.OpenRoot(_ro, out _)!, readOnly: true),
        };
        Assert.Equal(0, HostSocket.SocketPair(HostSocket.SOCK_SEQPACKET, out SafeFdHandle sentryEnd, out _serverEnd));
        var server = new GoferServer(_rootFd, volumes, _serverEnd.Fd);
        _serverThread = new Thread(() => server.Serve()) { IsBackground = true };
        _serverThread.Start();
        _client = new GoferClient(sentryEnd);
    }

    public void Dispose()
    {
        _client.Dispose();
        _serverThread.Join(5000);
        _serverEnd.Dispose();
        _rootFd.Dispose();
        Directory.Delete(_top, recursive: true);
    }

    private const int Rw = 1;
    private const int Ro = 2;

    private long Change(GoferOp op, int root, string path, string path2 = "", int flags = 0, long a0 = 0) =>
        _client.Change(new GoferRequest(op, (byte)root, flags, a0, 0, 0, 0, path, path2));

    private long OpenResult(int root, string path, int flags, int mode = 0x1A4)
    {
        using SafeFdHandle? fd = _client.Open(root, path, flags, mode, out long error);
        return fd == null ? error : 0;
    }

    private void AssertOutsideUntouched()
    {
        Assert.Equal(OutsideText, File.ReadAllText(Path.Combine(_top, "outside.txt")));
        Assert.Equal(["outdir", "outside.txt", "ro", "rw"], Names(_top));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_top, "outdir")));
    }

    private static string[] Names(string dir)
    {
        string[] names = Array.ConvertAll(Directory.GetFileSystemEntries(dir), p => Path.GetFileName(p)!);
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../outside.txt")]
    [InlineData("sub/../../outside.txt")]
    [InlineData("/outside.txt")]
    [InlineData("up")]
    [InlineData("abs")]
    [InlineData("updir/outside.txt")]
    [InlineData("absdir/outside.txt")]
    public void EveryOperationThroughAnEscape_IsEXDEV_AndChangesNothingOutside(string path)
    {
        Assert.Equal(-Errno.EXDEV.Value, OpenResult(Rw, path, OpenFlags.O_RDONLY));
        Assert.Equal(-Errno.EXDEV.Value, OpenResult(Rw, path, OpenFlags.O_WRONLY | OpenFlags.O_TRUNC));
        Assert.Equal(-Errno.EXDEV.Value, OpenResult(Rw, path, OpenFlags.O_PATH));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Chmod, Rw, path, a0: 0x1FF));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Chown, Rw, path, a0: 1));
        Assert.Null(_client.ReadLink(Rw, path + "/x", out long lr));
        Assert.True(lr is -20 or -18, "readlink below an escape: " + lr); // ENOTDIR (a file on the way) or EXDEV

        string dirEscape = path.EndsWith("outside.txt", StringComparison.Ordinal) ? path[..^"outside.txt".Length] + "outdir" : path + "/outdir";
        Assert.Equal(-Errno.EXDEV.Value, OpenResult(Rw, dirEscape + "/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Mkdir, Rw, dirEscape + "/made", a0: 0x1ED));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Symlink, Rw, dirEscape + "/lnk", "/etc/passwd"));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Link, Rw, "f", dirEscape + "/hard"));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Rename, Rw, "f", dirEscape + "/moved"));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Unlink, Rw, dirEscape + "/../outside.txt"));
        AssertOutsideUntouched();
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_rw, "f")));
    }

    [Fact]
    public void ReadWrite_ChangesReachTheHost()
    {
        using (SafeFdHandle? fd = _client.Open(Rw, "sub/new", OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY, 0x180, out long e))
        {
            Assert.True(fd != null, "create: " + e);
            Assert.Equal(6, Write(fd!, "hello\n"));
        }

        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(_rw, "sub", "new")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_rw, "sub", "new")));
        Assert.Equal(-Errno.EEXIST.Value, OpenResult(Rw, "sub/new", OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY));
        Assert.Equal(0, Change(GoferOp.Mkdir, Rw, "sub/d", a0: 0x1C0));
        Assert.True(Directory.Exists(Path.Combine(_rw, "sub", "d")));
        Assert.Equal(0, Change(GoferOp.Symlink, Rw, "sub/l", "../f"));
        Assert.Equal("../f", _client.ReadLink(Rw, "sub/l", out _));
        Assert.Equal(0, Change(GoferOp.Link, Rw, "f", "sub/hard"));
        Assert.Equal(0, Change(GoferOp.Rename, Rw, "sub/hard", "moved"));
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_rw, "moved")));
        Assert.Equal(0, Change(GoferOp.Chmod, Rw, "inlink", a0: 0x180));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_rw, "f")));
        Assert.Equal(0, Change(GoferOp.Unlink, Rw, "moved"));
        Assert.Equal(0, Change(GoferOp.Unlink, Rw, "sub/d", flags: OpenFlags.AT_REMOVEDIR));
        Assert.Equal(-Errno.ENOTEMPTY.Value, Change(GoferOp.Unlink, Rw, "sub", flags: OpenFlags.AT_REMOVEDIR));
        Assert.Equal(-Errno.EBUSY.Value, Change(GoferOp.Unlink, Rw, string.Empty, flags: OpenFlags.AT_REMOVEDIR));
        AssertOutsideUntouched();
    }

    [Fact]
    public void ReadOnly_RefusesEveryChange_InLinuxOrder()
    {
        Assert.Equal(0, OpenResult(Ro, "f", OpenFlags.O_RDONLY));
        Assert.Equal(0, OpenResult(Ro, "f", OpenFlags.O_RDONLY | OpenFlags.O_CREAT));
        Assert.Equal(-Errno.EROFS.Value, OpenResult(Ro, "f", OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.EROFS.Value, OpenResult(Ro, "inlink", OpenFlags.O_RDONLY | OpenFlags.O_TRUNC));
        Assert.Equal(-Errno.EEXIST.Value, OpenResult(Ro, "f", OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.EROFS.Value, OpenResult(Ro, "new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.ENOENT.Value, OpenResult(Ro, "nodir/new", OpenFlags.O_CREAT | OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.EISDIR.Value, OpenResult(Ro, "sub", OpenFlags.O_WRONLY));
        Assert.Equal(-Errno.EEXIST.Value, Change(GoferOp.Mkdir, Ro, "sub", a0: 0x1ED));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Mkdir, Ro, "new", a0: 0x1ED));
        Assert.Equal(-Errno.ENOENT.Value, Change(GoferOp.Mkdir, Ro, "nodir/new", a0: 0x1ED));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Unlink, Ro, "missing"));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Unlink, Ro, "f"));
        Assert.Equal(-Errno.EEXIST.Value, Change(GoferOp.Symlink, Ro, "f", "x"));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Symlink, Ro, "s", "x"));
        Assert.Equal(-Errno.ENOENT.Value, Change(GoferOp.Link, Ro, "missing", "h"));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Link, Ro, "f", "h"));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Rename, Ro, "missing", "x"));
        Assert.Equal(-Errno.ENOENT.Value, Change(GoferOp.Chmod, Ro, "missing", a0: 0x1FF));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Chmod, Ro, "f", a0: 0x1FF));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Chown, Ro, "f", a0: 1));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Utimes, Ro, "f"));
        Assert.Equal(["abs", "absdir", "f", "inlink", "sub", "up", "updir"], Names(_ro));
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_ro, "f")));
        AssertOutsideUntouched();
    }

    [Fact]
    public void BadRequests_AreRefused()
    {
        Assert.Equal(-Errno.EINVAL.Value, Change(GoferOp.Mkdir, 9, "x"));
        Assert.Equal(-Errno.EINVAL.Value, Change(GoferOp.Rename, Rw, "f")); // a second name is missing
        Assert.Equal(-Errno.EINVAL.Value, Change(GoferOp.Mkdir, Rw, "x", "y")); // one too many
        Assert.Equal(-Errno.ENOSYS.Value, Change(GoferOp.Mkdir, 0, "x")); // the root is never changed
        Assert.False(Directory.Exists(Path.Combine(_top, "x")));
    }

    [Fact]
    public void Mknod_MakesOnlyUnixSocketNodes()
    {
        const long Sock = Stat.S_IFSOCK | 0x1ED;
        Assert.Equal(0, Change(GoferOp.Mknod, Rw, "sub/sock", a0: Sock));
        Assert.Equal(-Errno.EEXIST.Value, Change(GoferOp.Mknod, Rw, "sub/sock", a0: Sock));
        Assert.Equal(-Errno.EPERM.Value, Change(GoferOp.Mknod, Rw, "sub/fifo", a0: Stat.S_IFIFO | 0x1A4));
        Assert.Equal(-Errno.EPERM.Value, Change(GoferOp.Mknod, Rw, "sub/null", a0: Stat.S_IFCHR | 0x1B6));
        Assert.Equal(-Errno.EPERM.Value, Change(GoferOp.Mknod, Rw, "sub/file", a0: Stat.S_IFREG | 0x1A4));
        Assert.Equal(-Errno.EXDEV.Value, Change(GoferOp.Mknod, Rw, "updir/sock", a0: Sock));
        Assert.Equal(-Errno.EROFS.Value, Change(GoferOp.Mknod, Ro, "sock", a0: Sock));
        Assert.Equal(-Errno.EEXIST.Value, Change(GoferOp.Mknod, Ro, "f", a0: Sock));
        Assert.Equal(["sock"], Names(Path.Combine(_rw, "sub")));
        Assert.Equal((UnixFileMode)0x1ED, File.GetUnixFileMode(Path.Combine(_rw, "sub", "sock")));
        AssertOutsideUntouched();
    }

    private long LinkFd(int root, string path, int fd) =>
        _client.Change(new GoferRequest(GoferOp.LinkFd, (byte)root, 0, 0, 0, 0, 0, path, string.Empty), fd);

    [Fact]
    public void Tmpfile_IsNamedByLinkFd_AndNoFileWithANameIsLinkedIn()
    {
        using SafeFdHandle? tmp = _client.Open(Rw, "sub", OpenFlags.O_TMPFILE | OpenFlags.O_RDWR, 0x1A0, out long error);
        Assert.True(tmp != null, $"O_TMPFILE: {error}");
        Assert.Equal(4, Write(tmp!, "temp"));
        Assert.Empty(Names(Path.Combine(_rw, "sub")));
        Assert.Equal(-Errno.EXDEV.Value, LinkFd(Rw, "updir/outdir/x", tmp!.Fd));
        Assert.Equal(-Errno.EEXIST.Value, LinkFd(Rw, "f", tmp.Fd));
        Assert.Equal(-Errno.EROFS.Value, LinkFd(Ro, "x", tmp.Fd));
        Assert.Equal(0, LinkFd(Rw, "sub/named", tmp.Fd));
        Assert.Equal("temp", File.ReadAllText(Path.Combine(_rw, "sub", "named")));
        Assert.Equal((UnixFileMode)0x1A0, File.GetUnixFileMode(Path.Combine(_rw, "sub", "named")));

        // Named now: never linked again by its fd; nor a host file that has a name elsewhere.
        Assert.Equal(-Errno.EINVAL.Value, LinkFd(Rw, "sub/again", tmp.Fd));
        long outside = HostPath.Openat(OpenFlags.AT_FDCWD, Path.Combine(_top, "outside.txt"), OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
        Assert.True(outside >= 0);
        using (var outsideFd = new SafeFdHandle((int)outside))
        {
            Assert.Equal(-Errno.EINVAL.Value, LinkFd(Rw, "stolen", outsideFd.Fd));
        }

        // O_EXCL: the host kernel will not link it.
        using SafeFdHandle? excl = _client.Open(Rw, "sub", OpenFlags.O_TMPFILE | OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0x1A0, out _);
        Assert.Equal(-Errno.ENOENT.Value, LinkFd(Rw, "sub/excl", excl!.Fd));
        Assert.Equal(-Errno.EBADF.Value, Change(GoferOp.LinkFd, Rw, "sub/nofd"));
        Assert.Equal(-Errno.EROFS.Value, OpenResult(Ro, "sub", OpenFlags.O_TMPFILE | OpenFlags.O_RDWR));
        Assert.Equal(-Errno.ENOTDIR.Value, OpenResult(Rw, "f", OpenFlags.O_TMPFILE | OpenFlags.O_RDWR));
        Assert.Equal(["named"], Names(Path.Combine(_rw, "sub")));
        Assert.Equal(["abs", "absdir", "f", "inlink", "sub", "up", "updir"], Names(_rw));
        AssertOutsideUntouched();
    }

    private static unsafe long Write(SafeFdHandle fd, string text)
    {
        byte[] b = Encoding.UTF8.GetBytes(text);
        fixed (byte* p = b)
        {
            return HostFile.Write(fd.Fd, p, (ulong)b.Length);
        }
    }
}
