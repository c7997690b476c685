using System;
using System.IO;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Host;
using Moat.Platform;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Syscalls.Linux;
using Moat.Sentry.Vfs;
using Moat.Tests.Kernel;
using Moat.Tests.Mm;

namespace Moat.Tests.Vfs;

/// <summary>
/// Unix socket behaviour that C programs cannot observe directly: references held by files in flight,
/// the send budget, and scatter/gather copies.
/// </summary>
public sealed class UnixSocketTests : IDisposable
{
    private const int SCM_RIGHTS = 1;
    private const int SOL_SOCKET = 1;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;
    private readonly Task _task;
    private readonly ulong _buf;

    public UnixSocketTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
        var kernel = new Moat.Sentry.Kernel.Kernel(_mf, new NullPlatform(), new NoFiles(), TextWriter.Null);
        _task = new Task(kernel, new ThreadGroup(1, null, "/test") { Mounts = kernel.Mounts }, 1, _mm, new FdTable(), Credentials.Root);
        _buf = (ulong)_mm.MmapAnonymous(0, 65536, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    private long Call(int nr, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, ulong a3 = 0) => SyscallTable.Invoke(_task, nr, new SyscallArgs(a0, a1, a2, a3));

    private (int, int) Pair(int nr, ulong a0, ulong a1, ulong a2)
    {
        Assert.Equal(0, SyscallTable.Invoke(_task, nr, new SyscallArgs(a0, a1, a2, _buf)));
        Span<int> fds = stackalloc int[2];
        Assert.Equal(0, _mm.CopyIn(_buf, MemoryMarshal.AsBytes(fds)));
        return (fds[0], fds[1]);
    }

    // Builds a msghdr at _buf + 256 sending one byte with SCM_RIGHTS for fd.
    private ulong RightsMessage(int fd)
    {
        ulong msg = _buf + 256;
        ulong iov = _buf + 512;
        ulong control = _buf + 768;
        _mm.CopyOut(_buf + 1024, (byte)'x');
        Span<ulong> iovec = [_buf + 1024, 1];
        _mm.CopyOut(iov, MemoryMarshal.AsBytes(iovec));
        Span<byte> cmsg = stackalloc byte[24];
        MemoryMarshal.Write(cmsg, 20UL);
        MemoryMarshal.Write(cmsg[8..], SOL_SOCKET);
        MemoryMarshal.Write(cmsg[12..], SCM_RIGHTS);
        MemoryMarshal.Write(cmsg[16..], fd);
        _mm.CopyOut(control, cmsg);
        Span<ulong> hdr = [0, 0, iov, 1, control, 24, 0];
        _mm.CopyOut(msg, MemoryMarshal.AsBytes(hdr));
        return msg;
    }

    [Fact]
    public void FilesInFlight_AreClosedWhenTheReceiverClosesUnread()
    {
        (int r, int w) = Pair(Sysno.pipe2, _buf, OpenFlags.O_NONBLOCK, 0);
        (int a, int b) = Pair(Sysno.socketpair, 1, UnixSocket.SOCK_STREAM, 0);
        Assert.Equal(1, Call(Sysno.sendmsg, (ulong)a, RightsMessage(w)));
        Assert.Equal(0, Call(Sysno.close, (ulong)w));

        // The write end is still open: it is in flight.
        Assert.Equal(-Errno.EAGAIN.Value, Call(Sysno.read, (ulong)r, _buf, 1));

        Assert.Equal(0, Call(Sysno.close, (ulong)b));
        Assert.Equal(0, Call(Sysno.close, (ulong)a));
        Assert.Equal(0, Call(Sysno.read, (ulong)r, _buf, 1));
    }

    [Fact]
    public void SendBudget_IsChargedUntilTheBytesAreRead()
    {
        var x = new UnixSocket(UnixSocket.SOCK_DGRAM, 0);
        var y = new UnixSocket(UnixSocket.SOCK_DGRAM, 0);
        UnixSocket.Join(x, y, UnixCredentials.None, UnixCredentials.None);
        Assert.Equal(100, x.Write(_task, IoSequence.App(_buf, 100), -1));
        Assert.True(x.SendBytesInFlight >= 100);
        Assert.Equal(100, y.Read(_task, IoSequence.App(_buf, 4096), -1));
        Assert.Equal(0, x.SendBytesInFlight);
        x.DecRef();
        y.DecRef();
    }

    [Fact]
    public void Stream_BetweenTwoThreads_DeliversEveryByteInOrder()
    {
        // The writer blocks on its send budget and the reader on data, on two host threads at once.
        var x = new UnixSocket(UnixSocket.SOCK_STREAM, 0);
        var y = new UnixSocket(UnixSocket.SOCK_STREAM, 0);
        UnixSocket.Join(x, y, UnixCredentials.None, UnixCredentials.None);
        var reader = new Task(_task.Kernel, _task.Group, 2, _mm, new FdTable(), Credentials.Root);
        byte[] pattern = new byte[65536];
        for (int i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (byte)(i % 251);
        }

        _mm.CopyOut(_buf, pattern.AsSpan(0, 32768));
        const long Total = 8 << 20;
        long sent = 0;
        long expected = 0;
        var writer = new System.Threading.Thread(() =>
        {
            var rng = new Random(7);
            while (sent < Total)
            {
                int n = (int)Math.Min(rng.Next(1, 32768), Total - sent);
                long r = x.Write(_task, IoSequence.App(_buf, (ulong)n), -1);
                Assert.True(r > 0);
                for (int i = 0; i < r; i++)
                {
                    expected = (expected * 31) + pattern[i];
                }

                sent += r;
            }

            x.Shutdown(1);
        });
        writer.Start();
        long got = 0;
        long sum = 0;
        byte[] chunk = new byte[20000];
        while (true)
        {
            long r = y.Read(reader, IoSequence.App(_buf + 32768, (ulong)chunk.Length), -1);
            Assert.True(r >= 0);
            if (r == 0)
            {
                break;
            }

            _mm.CopyIn(_buf + 32768, chunk.AsSpan(0, (int)r));
            for (int i = 0; i < r; i++)
            {
                sum = (sum * 31) + chunk[i];
            }

            got += r;
        }

        writer.Join();
        Assert.Equal(Total, got);
        Assert.Equal(expected, sum);
        Assert.Equal(0, x.SendBytesInFlight);
        x.DecRef();
        y.DecRef();
    }

    [Fact]
    public void IoSequence_CopyAcrossBuffersAtAnOffset()
    {
        var iov = IoSequence.Vector([_buf, 3, _buf + 100, 0, _buf + 200, 5]);
        Assert.Equal(8UL, iov.Total);
        Assert.Equal(0, iov.CopyOut(_mm, 2, "abcde"u8));
        Span<byte> got = stackalloc byte[6];
        Assert.Equal(0, iov.CopyIn(_mm, 2, got));
        Assert.Equal("abcde\0", System.Text.Encoding.ASCII.GetString(got));
        Assert.Equal(-Errno.EFAULT.Value, IoSequence.Vector([8, 4]).CopyIn(_mm, 0, got[..4]));
        Assert.Equal(-Errno.EFAULT.Value, IoSequence.App(8, 4).CopyIn(_mm, 0, got[..4]));
        Assert.Equal(0, IoSequence.App(_buf + 200, 5).CopyIn(_mm, 0, got[..4]));
        Assert.Equal("bcde", System.Text.Encoding.ASCII.GetString(got[..4]));
    }
}
