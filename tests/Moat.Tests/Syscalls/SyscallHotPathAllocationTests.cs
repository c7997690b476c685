using System;
using System.IO;
using Moat.Abi;
using Moat.Host;
using Moat.Platform;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Net;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Syscalls.Linux;
using Moat.Sentry.Vfs;
using Moat.Tests.Kernel;
using Moat.Tests.Mm;

namespace Moat.Tests.Syscalls;

/// <summary>
/// The syscall hot path must not allocate: a GC pause is latency for every sandboxed thread. These tests
/// run common calls through the real table and count the bytes the calling thread allocated.
/// </summary>
public sealed class SyscallHotPathAllocationTests : IDisposable
{
    private readonly MemoryFile _mf = new();
    private readonly SandboxNetwork _net = SandboxNetwork.LoopbackOnly();
    private readonly MemoryManager _mm;
    private readonly Task _task;
    private readonly ulong _buf;

    public SyscallHotPathAllocationTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
        var kernel = new Moat.Sentry.Kernel.Kernel(_mf, new NullPlatform(), new NoFiles(), TextWriter.Null) { Netstack = _net };
        var group = new ThreadGroup(1, null, "/test") { Mounts = kernel.Mounts };
        var fds = new FdTable();
        foreach ((int fd, string dev) in new[] { (0, "/dev/zero"), (1, "/dev/null") })
        {
            FileDescription f = DeviceFile.TryOpen(dev, OpenFlags.O_RDWR)!;
            fds.Set(fd, f, cloexec: false);
            f.DecRef();
        }

        _task = new Task(kernel, group, 1, _mm, fds, Credentials.Root);
        _buf = (ulong)_mm.MmapAnonymous(0, 65536, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    }

    public void Dispose()
    {
        _net.Dispose();
        _mm.Dispose();
        _mf.Dispose();
    }

    [Theory]
    [InlineData(Sysno.getpid, 0UL, 0UL, 0UL)]
    [InlineData(Sysno.gettid, 0UL, 0UL, 0UL)]
    [InlineData(Sysno.write, 1UL, 0UL, 4096UL)]
    [InlineData(Sysno.read, 0UL, 0UL, 4096UL)]
    [InlineData(Sysno.pread64, 0UL, 0UL, 4096UL)]
    [InlineData(Sysno.readv, 0UL, 0UL, 3UL)]
    [InlineData(Sysno.writev, 1UL, 0UL, 3UL)]
    [InlineData(Sysno.clock_gettime, 1UL, 0UL, 0UL)]
    [InlineData(Sysno.rt_sigprocmask, 2UL, 0UL, 0UL)]
    [InlineData(Sysno.getpriority, 0UL, 0UL, 0UL)]
    [InlineData(Sysno.sched_getscheduler, 0UL, 0UL, 0UL)]
    public void Syscall_InALoop_AllocatesNothing(int nr, ulong a0, ulong a1, ulong a2)
    {
        // Pointer arguments of 0 in the data stand for the test's buffer.
        var args = nr switch
        {
            Sysno.write or Sysno.read or Sysno.pread64 => new SyscallArgs(a0, _buf, a2, 0),
            Sysno.readv or Sysno.writev => new SyscallArgs(a0, Iovecs(), a2),
            Sysno.clock_gettime => new SyscallArgs(a0, _buf),
            Sysno.rt_sigprocmask => new SyscallArgs(a0, 0, _buf, 8),
            _ => new SyscallArgs(a0, a1, a2),
        };
        for (int i = 0; i < 100; i++)
        {
            Assert.True(SyscallTable.Invoke(_task, nr, args) >= 0);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            SyscallTable.Invoke(_task, nr, args);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // Three iovecs over the test's buffer, stored at its end: the vectored calls make one IoSequence of them.
    private ulong Iovecs()
    {
        ulong at = _buf + 65536 - 48;
        ReadOnlySpan<ulong> iov = [_buf, 100, _buf + 4096, 3000, _buf + 8192, 20000];
        Assert.Equal(0, _mm.CopyOut(at, System.Runtime.InteropServices.MemoryMarshal.AsBytes(iov)));
        return at;
    }

    /// <summary>
    /// A loopback TCP connection, or a connected UDP pair, on the netstack as fds 3 and 4: writes through the
    /// stack's pooled packets into the peer's buffer and reads back allocate nothing.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoopbackWriteThenRead_InALoop_AllocatesNothing(bool udp)
    {
        var port = (ushort)(udp ? 7001 : 7000);
        var addr = new InetAddr(InetAddr.V4Loopback, port);
        InetSocket a, b;
        if (udp)
        {
            a = new StackUdpSocket(_net, _net.Stack.CreateUdp(false), 0, 0);
            b = new StackUdpSocket(_net, _net.Stack.CreateUdp(false), 0, 0);
            Assert.Equal(0, b.Bind(addr));
            Assert.Equal(0, a.Connect(_task, addr));
        }
        else
        {
            var listener = new StackTcpSocket(_net, _net.Stack.CreateTcp(false), 0, 0);
            Assert.Equal(0, listener.Bind(addr));
            Assert.Equal(0, listener.Listen(1));
            a = new StackTcpSocket(_net, _net.Stack.CreateTcp(false), 0, 0);
            // TCP_NODELAY: Nagle would hold each write until the last one's delayed ACK, and a read would wait for it.
            a.OptionChanged(InetSocket.IPPROTO_TCP, 1, 1);
            Assert.Equal(0, a.Connect(_task, addr));
            Assert.Equal(0, listener.Accept(_task, out InetSocket? accepted));
            b = accepted!;
            listener.DecRef();
        }

        _task.Fds.Set(3, a, cloexec: false);
        _task.Fds.Set(4, b, cloexec: false);
        a.DecRef();
        b.DecRef();
        var write = new SyscallArgs(3, _buf, 4096);
        var read = new SyscallArgs(4, _buf, 4096);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(4096, SyscallTable.Invoke(_task, Sysno.write, write));
            Assert.Equal(4096, SyscallTable.Invoke(_task, Sysno.read, read));
        }

        // The packet buffers come from one pool for the process, which tests running beside this one may empty for
        // a while (then a Rent allocates): one of a few runs must allocate nothing, which a path that allocated per
        // call never would.
        long failures = 0, allocated = 0;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++)
            {
                failures += SyscallTable.Invoke(_task, Sysno.write, write) == 4096 ? 0 : 1;
                failures += SyscallTable.Invoke(_task, Sysno.read, read) == 4096 ? 0 : 1;
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0)
            {
                break;
            }
        }

        Assert.Equal(0, failures);
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData(1 | 128, 1)] // FUTEX_WAKE_PRIVATE, no one waiting
    [InlineData(1, 1)] // FUTEX_WAKE, a shared key on private memory
    [InlineData(0 | 128, 5)] // FUTEX_WAIT_PRIVATE on a word that is not 5: EAGAIN without sleeping
    [InlineData(3 | 128, 1)] // FUTEX_REQUEUE_PRIVATE, no one waiting
    public void Futex_WithoutSleeping_AllocatesNothing(int op, int val)
    {
        var args = new SyscallArgs(_buf, (ulong)op, (ulong)val, 1, _buf + 4);
        for (int i = 0; i < 100; i++)
        {
            SyscallTable.Invoke(_task, Sysno.futex, args);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            SyscallTable.Invoke(_task, Sysno.futex, args);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
