using System;
using System.IO;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Vfs.HostCache;

namespace Moat.Tests.Vfs.HostCache;

public sealed class HostDentryCacheTests : IDisposable
{
    private readonly HostRoot _root = new();

    public HostDentryCacheTests()
    {
        File.WriteAllText(_root.HostPath("file"), "12345");
        Directory.CreateDirectory(_root.HostPath("dir"));
        File.CreateSymbolicLink(_root.HostPath("link"), "file");
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Lookup_SecondTime_IsAHit()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal(0, cache.Lookup("/file", follow: true, out uint t1));
        int calls = _root.Calls;
        Assert.Equal(0, cache.Lookup("/file", follow: true, out uint t2));

        Assert.Equal(calls, _root.Calls);
        Assert.Equal(Stat.S_IFREG, t1);
        Assert.Equal(t1, t2);
        Assert.True(cache.Hits >= 1);
    }

    [Fact]
    public void Lookup_FollowAndNoFollow_AreSeparateEntries()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal(0, cache.Lookup("/link", follow: true, out uint followed));
        Assert.Equal(0, cache.Lookup("/link", follow: false, out uint itself));

        Assert.Equal(Stat.S_IFREG, followed);
        Assert.Equal(Stat.S_IFLNK, itself);
    }

    [Fact]
    public void Missing_IsCachedNegative()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal(-Errno.ENOENT.Value, cache.Lookup("/missing", follow: true, out _));
        int calls = _root.Calls;
        Assert.Equal(-Errno.ENOENT.Value, cache.Stat("/missing", follow: true, out _));
        Assert.Equal(-Errno.ENOENT.Value, cache.Acquire("/missing", follow: true, read: true, out _, out _, out _));

        Assert.Equal(calls, _root.Calls);
    }

    [Fact]
    public void OtherErrors_AreNotCached()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal(-Errno.ENOTDIR.Value, cache.Lookup("/file/x", follow: true, out _));
        int calls = _root.Calls;
        Assert.Equal(-Errno.ENOTDIR.Value, cache.Lookup("/file/x", follow: true, out _));

        Assert.Equal(calls + 1, _root.Calls);
    }

    [Fact]
    public void Stat_ReadsFreshAttributes_ThroughTheCachedFd()
    {
        var cache = new HostDentryCache(_root);
        Assert.Equal(0, cache.Stat("/file", follow: true, out Stat before));
        int calls = _root.Calls;

        File.AppendAllText(_root.HostPath("file"), "678");
        Assert.Equal(0, cache.Stat("/file", follow: true, out Stat after));

        Assert.Equal(5, before.st_size);
        Assert.Equal(8, after.st_size);
        Assert.Equal(calls, _root.Calls);
    }

    [Fact]
    public void Acquire_ForReading_SharesOneFd_ThatOutlivesItsEntry()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal(0, cache.Acquire("/file", follow: true, read: true, out SafeFdHandle? a, out bool sharedA, out _));
        int calls = _root.Calls;
        Assert.Equal(0, cache.Acquire("/file", follow: true, read: true, out SafeFdHandle? b, out bool sharedB, out _));
        Assert.Equal(calls, _root.Calls);
        Assert.True(sharedA && sharedB);
        Assert.Same(a, b);

        cache.Invalidate("/file");
        a!.DangerousRelease();

        // One reference is left, so the fd is still open.
        Assert.Equal(0, HostFile.Fstat(b!.Fd, out Stat st));
        Assert.Equal(5, st.st_size);
        b.DangerousRelease();
        Assert.True(b.IsClosed);
    }

    [Fact]
    public void Acquire_ADirectoryForReading_IsNotShared()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal(HostDentryCache.NotShared, cache.Acquire("/dir", follow: true, read: true, out SafeFdHandle? fd, out _, out uint type));

        Assert.Null(fd);
        Assert.Equal(Stat.S_IFDIR, type);
    }

    [Fact]
    public void ReadLink_IsCached_AndANonLinkIsEINVAL()
    {
        var cache = new HostDentryCache(_root);

        Assert.Equal("file", cache.ReadLink("/link", out long e1));
        int calls = _root.Calls;
        Assert.Equal("file", cache.ReadLink("/link", out long e2));
        Assert.Equal(calls, _root.Calls);
        Assert.Equal(0, e1);
        Assert.Equal(0, e2);

        cache.Lookup("/file", follow: false, out _);
        calls = _root.Calls;
        Assert.Null(cache.ReadLink("/file", out long e3));
        Assert.Equal(-Errno.EINVAL.Value, e3);
        Assert.Equal(calls, _root.Calls);
    }

    [Fact]
    public void Invalidate_MakesTheNextLookupAskAgain()
    {
        var cache = new HostDentryCache(_root);
        cache.Lookup("/missing", follow: true, out _);
        File.WriteAllText(_root.HostPath("missing"), "now here");

        Assert.Equal(-Errno.ENOENT.Value, cache.Lookup("/missing", follow: true, out _)); // trusted until told
        cache.Invalidate("/missing");

        Assert.Equal(0, cache.Lookup("/missing", follow: true, out _));
    }

    [Fact]
    public void Capacity_EvictsTheLeastRecentlyUsed()
    {
        var cache = new HostDentryCache(_root, capacity: 2);
        cache.Lookup("/file", true, out _);
        cache.Lookup("/dir", true, out _);
        cache.Lookup("/file", true, out _); // /dir is now the oldest
        cache.Lookup("/link", false, out _);

        Assert.Equal(2, cache.Count);
        int calls = _root.Calls;
        cache.Lookup("/file", true, out _);
        Assert.Equal(calls, _root.Calls);
        cache.Lookup("/dir", true, out _);
        Assert.Equal(calls + 1, _root.Calls);
    }

    [Fact]
    public void ConcurrentOpensAndEvictions_NeverUseAClosedFd()
    {
        var cache = new HostDentryCache(_root, capacity: 2);
        string[] paths = ["/file", "/dir", "/link", "/missing"];
        var threads = new System.Threading.Thread[4];
        int failures = 0;
        for (int i = 0; i < threads.Length; i++)
        {
            int seed = i;
            threads[i] = new System.Threading.Thread(() =>
            {
                for (int n = 0; n < 2000; n++)
                {
                    string p = paths[(n + seed) % paths.Length];
                    long r = cache.Acquire(p, follow: n % 2 == 0, read: false, out SafeFdHandle? fd, out bool shared, out _);
                    if (r == 0)
                    {
                        if (HostFile.Fstat(fd!.Fd, out _) < 0)
                        {
                            System.Threading.Interlocked.Increment(ref failures);
                        }

                        if (shared)
                        {
                            fd.DangerousRelease();
                        }
                        else
                        {
                            fd.Dispose();
                        }
                    }

                    if (n % 7 == seed)
                    {
                        cache.Invalidate(p);
                    }
                }
            });
            threads[i].Start();
        }

        foreach (System.Threading.Thread t in threads)
        {
            t.Join();
        }

        Assert.Equal(0, failures);
        Assert.True(cache.Count <= 2);
    }

    [Fact]
    public void CapacityZero_AsksEveryTime()
    {
        var cache = new HostDentryCache(_root, capacity: 0);

        cache.Stat("/file", true, out _);
        cache.Stat("/file", true, out _);

        Assert.Equal(2, _root.Calls);
        Assert.Equal(0, cache.Count);
        Assert.Equal(HostDentryCache.NotShared, cache.Acquire("/file", true, read: false, out _, out _, out _));
    }
}
