using System;
using System.IO;
using System.Text;
using System.Threading;
using Moat.Abi;
using Moat.Gofer;
using Moat.Host;

namespace Moat.Tests.Gofer;

public sealed class GoferServerTests : IDisposable
{
    private const string InsideText = "inside the root\n";
    private const string OutsideText = "OUTSIDE the root: must never be served\n";

    private readonly string _top;
    private readonly string _root;
    private readonly SafeFdHandle _rootFd;
    private readonly GoferServer _server;

    public GoferServerTests()
    {
        _top = Path.Combine(Path.GetTempPath(), "moat-gofer-test-" + Guid.NewGuid().ToString("N"));
        _root = Path.Combine(_top, "root");
        Directory.CreateDirectory(Path.Combine(_root, "sub", "deeper"));
        File.WriteAllText(Path.Combine(_root, "inside.txt"), InsideText);
        File.WriteAllText(Path.Combine(_root, "sub", "nested.txt"), "nested");
        File.WriteAllText(Path.Combine(_top, "outside.txt"), OutsideText);

        File.CreateSymbolicLink(Path.Combine(_root, "link-escape"), "../outside.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "sub", "deeper", "link-escape-deep"), "../../../../outside.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "link-abs-missing"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(_root, "link-abs-outside"), Path.Combine(_top, "outside.txt"));
        File.CreateSymbolicLink(Path.Combine(_root, "link-abs-inside"), "/inside.txt");
        File.CreateSymbolicLink(Path.Combine(_root, "link-inside"), "inside.txt");
        Directory.CreateSymbolicLink(Path.Combine(_root, "link-dotdot"), "..");
        Directory.CreateSymbolicLink(Path.Combine(_root, "link-slash"), "/");
        MkFifo(Path.Combine(_root, "fifo"));

        SafeFdHandle? fd = GoferServer.OpenRoot(_root, out long err);
        Assert.True(err >= 0, "OpenRoot failed: " + err);
        _rootFd = fd!;
        _server = new GoferServer(_rootFd, -1);
    }

    public void Dispose()
    {
        _rootFd.Dispose();
        Directory.Delete(_top, recursive: true);
    }

    private static unsafe void MkFifo(string path)
    {
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            long r = HostProcess.Syscall(Sysno.mknodat, OpenFlags.AT_FDCWD, (long)pp, (long)(Stat.S_IFIFO | 0x1A4), 0);
            Assert.Equal(0, r);
        }
    }

    private static Stat FstatFd(long fd)
    {
        Assert.True(fd >= 0, "expected an fd, got " + fd);
        Assert.Equal(0, HostFile.Fstat((int)fd, out Stat st));
        return st;
    }

    private static unsafe string ReadAll(long fd)
    {
        byte[] buf = new byte[4096];
        fixed (byte* b = buf)
        {
            long n = HostFile.PRead((int)fd, b, (ulong)buf.Length, 0);
            Assert.True(n >= 0, "pread failed: " + n);
            return Encoding.UTF8.GetString(buf, 0, (int)n);
        }
    }

    private long OpenExpectingFd(string path, int flags = 0)
    {
        long fd = _server.Open(path, flags);
        Assert.True(fd >= 0, $"Open({path}) = {fd}");
        return fd;
    }

    [Theory]
    [InlineData("inside.txt")]
    [InlineData("/inside.txt")]
    [InlineData("./sub/../inside.txt")]
    [InlineData("link-inside")]
    [InlineData("link-abs-inside")]
    public void Open_FileInsideRoot_ReturnsReadableFd(string path)
    {
        long fd = OpenExpectingFd(path);
        try
        {
            Stat st = FstatFd(fd);
            Assert.Equal(Stat.S_IFREG, st.st_mode & Stat.S_IFMT);
            Assert.Equal(InsideText.Length, st.st_size);
            Assert.Equal(InsideText, ReadAll(fd));
        }
        finally
        {
            HostFile.Close((int)fd);
        }
    }

    [Theory]
    [InlineData("../outside.txt")]
    [InlineData("../../outside.txt")]
    [InlineData("sub/../../outside.txt")]
    [InlineData("sub/deeper/../../../../../outside.txt")]
    [InlineData("/../outside.txt")]
    [InlineData("link-escape")]
    [InlineData("sub/deeper/link-escape-deep")]
    [InlineData("link-abs-outside")]
    [InlineData("link-dotdot/outside.txt")]
    [InlineData("link-slash/../outside.txt")]
    [InlineData("link-abs-missing")]
    public void Open_EscapeAttempt_ReturnsError(string path)
    {
        long fd = _server.Open(path, 0);
        if (fd >= 0)
        {
            // Make the failure message show what leaked.
            string leaked = ReadAll(fd);
            HostFile.Close((int)fd);
            Assert.Fail($"Open({path}) escaped the root and read: {leaked}");
        }

        Assert.Equal(-Errno.ENOENT.Value, fd);
    }

    [Theory]
    [InlineData("../inside.txt")]
    [InlineData("../../../inside.txt")]
    [InlineData("link-dotdot/inside.txt")]
    [InlineData("link-slash/inside.txt")]
    [InlineData("link-dotdot/link-dotdot/sub/nested.txt")]
    public void Open_DotDotAboveRoot_StaysAtRoot(string path)
    {
        long fd = OpenExpectingFd(path);
        try
        {
            string text = ReadAll(fd);
            Assert.True(text == InsideText || text == "nested", text);
        }
        finally
        {
            HostFile.Close((int)fd);
        }
    }

    [Fact]
    public void Open_Missing_ReturnsENOENT()
    {
        Assert.Equal(-Errno.ENOENT.Value, _server.Open("no-such-file", 0));
        Assert.Equal(-Errno.ENOENT.Value, _server.Open("no-such-file", OpenFlags.O_PATH));
    }

    [Fact]
    public void Open_Directory_ReturnsDirectoryFd()
    {
        long fd = OpenExpectingFd("sub", OpenFlags.O_DIRECTORY);
        try
        {
            Assert.Equal(Stat.S_IFDIR, FstatFd(fd).st_mode & Stat.S_IFMT);
        }
        finally
        {
            HostFile.Close((int)fd);
        }
    }

    [Fact]
    public void Open_DirectoryFlagOnFile_ReturnsENOTDIR()
    {
        Assert.Equal(-Errno.ENOTDIR.Value, _server.Open("inside.txt", OpenFlags.O_DIRECTORY));
    }

    [Fact]
    public void Open_ReturnedFd_IsReadOnlyAndCloseOnExec()
    {
        long fd = OpenExpectingFd("inside.txt");
        try
        {
            long fl = HostFile.Fcntl((int)fd, HostFile.F_GETFL, 0);
            Assert.Equal(OpenFlags.O_RDONLY, (int)fl & OpenFlags.O_ACCMODE);
            Assert.Equal(0, fl & OpenFlags.O_PATH);
            Assert.Equal(HostFile.FD_CLOEXEC, HostFile.Fcntl((int)fd, HostFile.F_GETFD, 0) & HostFile.FD_CLOEXEC);
            unsafe
            {
                byte b = (byte)'x';
                Assert.Equal(-Errno.EBADF.Value, HostFile.Write((int)fd, &b, 1));
            }
        }
        finally
        {
            HostFile.Close((int)fd);
        }

        Assert.Equal(InsideText, File.ReadAllText(Path.Combine(_root, "inside.txt")));
    }

    [Fact]
    public void Open_NonBlock_IsPassedThrough()
    {
        long fd = OpenExpectingFd("inside.txt", OpenFlags.O_NONBLOCK);
        try
        {
            Assert.Equal(OpenFlags.O_NONBLOCK, HostFile.Fcntl((int)fd, HostFile.F_GETFL, 0) & OpenFlags.O_NONBLOCK);
        }
        finally
        {
            HostFile.Close((int)fd);
        }
    }

    [Theory]
    [InlineData(OpenFlags.O_WRONLY)]
    [InlineData(OpenFlags.O_RDWR)]
    [InlineData(OpenFlags.O_CREAT)]
    [InlineData(OpenFlags.O_TRUNC)]
    [InlineData(OpenFlags.O_APPEND)]
    [InlineData(OpenFlags.O_TMPFILE)]
    [InlineData(OpenFlags.O_CLOEXEC)]
    public void Open_WriteOrCreateFlags_ReturnsEINVAL(int flags)
    {
        Assert.Equal(-Errno.EINVAL.Value, _server.Open("inside.txt", flags));
        Assert.Equal(-Errno.EINVAL.Value, _server.Open("created-by-gofer", flags));

        Assert.Equal(InsideText, File.ReadAllText(Path.Combine(_root, "inside.txt")));
        Assert.False(File.Exists(Path.Combine(_root, "created-by-gofer")));
    }

    [Fact]
    public void Open_FifoWithoutPath_ReturnsEACCES()
    {
        Assert.Equal(-Errno.EACCES.Value, _server.Open("fifo", 0));
        Assert.Equal(-Errno.EACCES.Value, _server.Open("fifo", OpenFlags.O_NONBLOCK));
    }

    [Fact]
    public void Open_FifoWithPath_ReturnsPathFd()
    {
        long fd = OpenExpectingFd("fifo", OpenFlags.O_PATH);
        try
        {
            Assert.Equal(Stat.S_IFIFO, FstatFd(fd).st_mode & Stat.S_IFMT);
            Assert.Equal(OpenFlags.O_PATH, HostFile.Fcntl((int)fd, HostFile.F_GETFL, 0) & OpenFlags.O_PATH);
        }
        finally
        {
            HostFile.Close((int)fd);
        }
    }

    [Fact]
    public void Open_DeviceUnderHostRoot_OnlyAsPath()
    {
        SafeFdHandle? slash = GoferServer.OpenRoot("/", out _);
        Assert.NotNull(slash);
        using (slash)
        {
            var server = new GoferServer(slash!, -1);

            Assert.Equal(-Errno.EACCES.Value, server.Open("/dev/null", 0));
            long fd = server.Open("/dev/null", OpenFlags.O_PATH);
            Assert.True(fd >= 0, "O_PATH open of /dev/null: " + fd);
            try
            {
                Assert.Equal(Stat.S_IFCHR, FstatFd(fd).st_mode & Stat.S_IFMT);
            }
            finally
            {
                HostFile.Close((int)fd);
            }
        }
    }

    [Fact]
    public void Open_ProcMagicLink_IsRefused()
    {
        SafeFdHandle? slash = GoferServer.OpenRoot("/", out _);
        using (slash)
        {
            var server = new GoferServer(slash!, -1);

            Assert.Equal(-Errno.ELOOP.Value, server.Open("/proc/self/cwd", OpenFlags.O_PATH));
            Assert.Equal(-Errno.ELOOP.Value, server.Open("/proc/self/root/etc", 0));
            Assert.Equal(-Errno.ELOOP.Value, server.Open("/proc/self/exe", 0));
        }
    }

    [Fact]
    public void Open_NoFollowOnSymlink_ReturnsELOOP()
    {
        Assert.Equal(-Errno.ELOOP.Value, _server.Open("link-inside", OpenFlags.O_NOFOLLOW));
        Assert.Equal(-Errno.ELOOP.Value, _server.Open("link-escape", OpenFlags.O_NOFOLLOW));
    }

    [Fact]
    public void Open_NoFollowWithPathOnSymlink_ReturnsTheLinkItself()
    {
        long fd = OpenExpectingFd("link-escape", OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW);
        try
        {
            Assert.Equal(Stat.S_IFLNK, FstatFd(fd).st_mode & Stat.S_IFMT);
        }
        finally
        {
            HostFile.Close((int)fd);
        }
    }

    [Fact]
    public void Open_NoFollowOnRegularFile_Succeeds()
    {
        long fd = OpenExpectingFd("inside.txt", OpenFlags.O_NOFOLLOW);
        HostFile.Close((int)fd);
    }

    [Fact]
    public void ReadLink_Symlink_ReturnsTargetVerbatim()
    {
        Assert.Equal("../outside.txt", _server.ReadLink("link-escape", out _));
        Assert.Equal("/etc/passwd", _server.ReadLink("link-abs-missing", out _));
        Assert.Equal("inside.txt", _server.ReadLink("/link-inside", out _));
    }

    [Fact]
    public void ReadLink_RegularFile_ReturnsEINVAL()
    {
        Assert.Null(_server.ReadLink("inside.txt", out long err));
        Assert.Equal(-Errno.EINVAL.Value, err);
    }

    [Fact]
    public void ReadLink_Missing_ReturnsENOENT()
    {
        Assert.Null(_server.ReadLink("nothing-here", out long err));
        Assert.Equal(-Errno.ENOENT.Value, err);
    }

    [Fact]
    public void ReadLink_ThroughEscapingLink_ReturnsError()
    {
        File.CreateSymbolicLink(Path.Combine(_top, "outside-link"), "outside-target");

        Assert.Null(_server.ReadLink("../outside-link", out long err));
        Assert.Equal(-Errno.ENOENT.Value, err);
        Assert.Null(_server.ReadLink("link-dotdot/outside-link", out err));
        Assert.Equal(-Errno.ENOENT.Value, err);
    }

    [Fact]
    public void OpenRoot_Missing_ReturnsNullWithENOENT()
    {
        Assert.Null(GoferServer.OpenRoot(Path.Combine(_top, "does-not-exist"), out long err));
        Assert.Equal(-Errno.ENOENT.Value, err);
    }

    [Fact]
    public void OpenRoot_File_ReturnsNullWithENOTDIR()
    {
        Assert.Null(GoferServer.OpenRoot(Path.Combine(_top, "outside.txt"), out long err));
        Assert.Equal(-Errno.ENOTDIR.Value, err);
    }

    [Fact]
    public void Serve_OverSocketPair_AnswersClientRequests()
    {
        Assert.Equal(0, HostSocket.SocketPair(HostSocket.SOCK_SEQPACKET, out SafeFdHandle sentryEnd, out SafeFdHandle goferEnd));
        int exitCode = -1;
        var serverThread = new Thread(() => exitCode = new GoferServer(_rootFd, goferEnd.Fd).Serve()) { IsBackground = true };
        serverThread.Start();
        try
        {
            using (var client = new GoferClient(sentryEnd))
            {
                using (SafeFdHandle? fd = client.Open("inside.txt", 0, out long err))
                {
                    Assert.Equal(0, err);
                    Assert.NotNull(fd);
                    Assert.Equal(InsideText, ReadAll(fd!.Fd));
                }

                Assert.Null(client.Open("link-escape", 0, out long escapeErr));
                Assert.Equal(-Errno.ENOENT.Value, escapeErr);
                Assert.Null(client.Open("inside.txt", OpenFlags.O_RDWR, out long rwErr));
                Assert.Equal(-Errno.EINVAL.Value, rwErr);
                Assert.Equal("../outside.txt", client.ReadLink("link-escape", out long rlErr));
                Assert.Equal(0, rlErr);
                Assert.Null(client.ReadLink("inside.txt", out rlErr));
                Assert.Equal(-Errno.EINVAL.Value, rlErr);

                // Raw malformed and unknown requests on the same channel.
                byte[] reply = new byte[GoferProtocol.MaxMessage];
                Assert.Equal(3, HostSocket.Send(sentryEnd.Fd, new byte[] { 1, 2, 3 }, -1));
                long n = HostSocket.Receive(sentryEnd.Fd, reply, out int noFd);
                Assert.True(GoferProtocol.TryDecodeReply(reply.AsSpan(0, (int)n), out int result, out _));
                Assert.Equal(-Errno.EINVAL.Value, result);
                Assert.Equal(-1, noFd);

                byte[] unknown = new byte[64];
                int len = GoferProtocol.EncodeRequest(unknown, (GoferOp)99, 0, "inside.txt");
                Assert.Equal(len, HostSocket.Send(sentryEnd.Fd, unknown.AsSpan(0, len), -1));
                n = HostSocket.Receive(sentryEnd.Fd, reply, out noFd);
                Assert.True(GoferProtocol.TryDecodeReply(reply.AsSpan(0, (int)n), out result, out _));
                Assert.Equal(-Errno.ENOSYS.Value, result);
                Assert.Equal(-1, noFd);
            }

            // The client closed its end: the server returns 0.
            Assert.True(serverThread.Join(TimeSpan.FromSeconds(10)), "Serve did not return after the client closed");
            Assert.Equal(0, exitCode);
        }
        finally
        {
            sentryEnd.Dispose();
            serverThread.Join(TimeSpan.FromSeconds(5));
            goferEnd.Dispose();
        }
    }
}
