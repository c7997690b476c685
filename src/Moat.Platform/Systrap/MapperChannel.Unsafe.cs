using System;
using System.Threading;
using Moat.Abi;
using Moat.Host;
using Moat.Platform.Ptrace;

namespace Moat.Platform.Systrap;

/// <summary>
/// The Sentry's end of a stub's mapper thread (docs/systrap-platform.md, "the mapper thread"): a request page
/// that the stub maps read-only at <see cref="RequestAddress"/>, and the read end of the pipe the mapper
/// answers on. The app can neither write a request nor send an answer; the answer's length is the result.
/// </summary>
internal sealed unsafe class MapperChannel : IDisposable
{
    /// <summary>Where the stub maps the request page: above the stub page, below every sysmsg region.</summary>
    public const ulong RequestAddress = SystrapStubImage.StubBase + 0x10000;

    /// <summary>The stub's fd of the request page's memfd, and of the reply pipe's write end (stub.S knows 6).</summary>
    public const int StubRequestFd = 5;
    public const int StubReplyFd = 6;

    /// <summary>Calls one request holds (stub.S: M_MAX).</summary>
    public const int MaxCalls = 63;

    private const int PageSize = 4096;
    private const int SeqOffset = 0;
    private const int CountOffset = 4;
    private const int CookieOffset = 8;
    private const int CallsOffset = 64;
    private const int CallSize = 64;

    private readonly byte* _page;
    private readonly SafeFdHandle _reply;

    // The fds the stub gets at spawn; closed in the Sentry once it has them.
    private SafeFdHandle? _stubRequest;
    private SafeFdHandle? _stubReply;

    // Serialises requests: one at a time, so each answer is the current request's.
    private readonly Lock _mu = new();

    // The mapper's host tid (0 until started) and the CPU it was last moved to. Protected by _mu.
    private int _tid;
    private int _cpu = -1;
    private bool _disposed;

    private MapperChannel(byte* page, SafeFdHandle request, SafeFdHandle replyRead, SafeFdHandle replyWrite)
    {
        _page = page;
        _stubRequest = request;
        _reply = replyRead;
        _stubReply = replyWrite;
    }

    /// <summary>Creates the request page and the reply pipe (both close-on-exec in the Sentry).</summary>
    public static MapperChannel? Create(out long error)
    {
        SafeFdHandle request = HostFile.MemfdCreate("moat-mapper", out error);
        if (error < 0)
        {
            request.Dispose();
            return null;
        }

        error = HostFile.Ftruncate(request.Fd, PageSize);
        long map = error < 0 ? error : HostMemory.Mmap(0, PageSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, request.Fd, 0);
        if (map < 0)
        {
            error = map;
            request.Dispose();
            return null;
        }

        int* fds = stackalloc int[2];
        error = HostProcess.Syscall(Sysno.pipe2, (long)fds, OpenFlags.O_CLOEXEC);
        if (error < 0)
        {
            HostMemory.Munmap((nint)map, PageSize);
            request.Dispose();
            return null;
        }

        long cookie;
        HostRandom.Fill(new Span<byte>(&cookie, sizeof(long)));
        *(long*)((byte*)map + CookieOffset) = cookie;
        return new MapperChannel((byte*)map, request, new SafeFdHandle(fds[0]), new SafeFdHandle(fds[1]));
    }

    /// <summary>
    /// Whether the stub's page at <see cref="RequestAddress"/> is this channel's request page: it holds the random
    /// cookie written at creation. Checked through ptrace before the mapper starts, so that a stub that got a
    /// wrong fd 5 (once, the MemoryFile, whose first page an app can write) never runs calls from it.
    /// </summary>
    public bool IsRequestPageOf(int stubPid)
    {
        long cookie = *(long*)(_page + CookieOffset);
        return HostPtrace.PeekData(stubPid, RequestAddress + CookieOffset, out long seen) >= 0 && seen == cookie;
    }

    /// <summary>The (Sentry fd, stub fd) pairs a new stub must get at spawn.</summary>
    public (int From, int To)[] SpawnFds() => [(_stubRequest!.Fd, StubRequestFd), (_stubReply!.Fd, StubReplyFd)];

    /// <summary>Closes the Sentry's copies of the stub's fds: from now on only the stub can answer, and its death closes the pipe.</summary>
    public void Spawned()
    {
        _stubRequest?.Dispose();
        _stubReply?.Dispose();
        _stubRequest = null;
        _stubReply = null;
    }

    /// <summary>Records the mapper's tid once the injector has cloned it.</summary>
    public void Started(int tid)
    {
        lock (_mu)
        {
            _tid = tid;
        }
    }

    /// <summary>
    /// Makes <paramref name="changes"/> in the stub, <see cref="MaxCalls"/> per hand-off, in order. Returns 0
    /// once the mapper has made them all, or the first failure's -errno (the rest are not made); -EIO if the
    /// stub is gone.
    /// </summary>
    public long Run(ReadOnlySpan<MappingChange> changes)
    {
        byte* answer = stackalloc byte[PageSize];
        lock (_mu)
        {
            if (_disposed || _tid == 0)
            {
                return -Errno.EIO.Value;
            }

            FollowCpuLocked();
            while (!changes.IsEmpty)
            {
                int n = Math.Min(changes.Length, MaxCalls);
                for (int i = 0; i < n; i++)
                {
                    long* call = (long*)(_page + CallsOffset + (i * CallSize));
                    MappingChange c = changes[i];
                    if (c.Unmap)
                    {
                        call[0] = Sysno.munmap;
                        call[1] = (long)c.Addr;
                        call[2] = (long)c.Length;
                    }
                    else
                    {
                        call[0] = Sysno.mmap;
                        call[1] = (long)c.Addr;
                        call[2] = (long)c.Length;
                        call[3] = c.Prot;
                        call[4] = Mman.MAP_SHARED | Mman.MAP_FIXED;
                        call[5] = PtraceAddressSpace.StubMemoryFileFd;
                        call[6] = c.FileOffset;
                    }
                }

                *(int*)(_page + CountOffset) = n;
                int* seq = (int*)(_page + SeqOffset);
                Interlocked.Increment(ref *seq); // publishes the calls: the mapper reads them after it sees the new number
                HostFutex.WakeShared(seq, 1);
                long r = AwaitAnswer(answer);
                if (r < 0)
                {
                    return r;
                }

                changes = changes[n..];
            }

            return 0;
        }
    }

    // Reads the mapper's answer: its length is 1 (done) or 1+errno (stopped at a failure); end of file means
    // the stub is gone.
    private long AwaitAnswer(byte* buf)
    {
        while (true)
        {
            long n = HostFile.Read(_reply.Fd, buf, PageSize);
            if (n == -Errno.EINTR.Value)
            {
                continue;
            }

            if (n < 0)
            {
                return n;
            }

            return n == 0 ? -Errno.EIO.Value : n == 1 ? 0 : -(n - 1);
        }
    }

    // Moves the mapper to the calling thread's CPU, so that the hand-off is a same-CPU wake-up (the caller
    // sleeps on the pipe meanwhile). Preconditions: _mu is held.
    private void FollowCpuLocked()
    {
        uint cpu;
        if (HostProcess.Syscall(Sysno.getcpu, (long)&cpu, 0, 0) < 0 || (int)cpu == _cpu || cpu >= 1024)
        {
            return;
        }

        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        mask[cpu / 64] = 1UL << (int)(cpu % 64);
        if (HostProcess.Syscall(Sysno.sched_setaffinity, _tid, 128, (long)mask) == 0)
        {
            _cpu = (int)cpu;
        }
    }

    /// <summary>Frees the Sentry's side. Preconditions: the stub is dead (a request in flight has seen end of file).</summary>
    public void Dispose()
    {
        lock (_mu)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        Spawned();
        _reply.Dispose();
        HostMemory.Munmap((nint)_page, PageSize);
    }
}
