using System;
using System.IO;
using Microsoft.Win32.SafeHandles;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs.HostCache;

namespace Moat.Tests.Vfs.HostCache;

public sealed class HostPageCacheTests : IDisposable
{
    private const int Page = (int)Mman.PageSize;

    private readonly string _dir = Directory.CreateTempSubdirectory("moat-pagecache-").FullName;
    private readonly MemoryFile _mf = new();

    public void Dispose()
    {
        _mf.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static (SafeFileHandle Handle, int Fd, Stat St) Open(string path)
    {
        SafeFileHandle h = File.OpenHandle(path);
        int fd = (int)h.DangerousGetHandle();
        Assert.Equal(0, HostFile.Fstat(fd, out Stat st));
        return (h, fd, st);
    }

    private unsafe byte[] Bytes(long offset, int count) => new Span<byte>(_mf.PointerAt(offset), count).ToArray();

    private void Release(long[] pages)
    {
        foreach (long p in pages)
        {
            _mf.Free(p, Mman.PageSize);
        }
    }

    [Fact]
    public void Reference_ReadsTheFileOnce_AndEveryMappingSharesItsPages()
    {
        byte[] content = new byte[(2 * Page) + 100];
        new Random(7).NextBytes(content);
        (SafeFileHandle h, int fd, Stat st) = Open(Write("lib.so", content));
        using (h)
        {
            var cache = new HostPageCache(_mf);
            long[] a = new long[3];
            long[] b = new long[3];
            Assert.Equal(0, cache.Reference(fd, st, 0, a));
            Assert.Equal(0, cache.Reference(fd, st, 0, b));

            Assert.Equal(a, b);
            Assert.Equal(content.AsSpan(0, Page).ToArray(), Bytes(a[0], Page));
            Assert.Equal(content.AsSpan(2 * Page, 100).ToArray(), Bytes(a[2], 100));
            Assert.Equal(new byte[Page - 100], Bytes(a[2] + 100, Page - 100)); // the tail of the last page is zero
            Assert.True(_mf.IsShared(a[0], Mman.PageSize));
            Release(a);
            Release(b);
        }
    }

    [Fact]
    public void Reference_AFileChangedOnTheHost_IsReadAgain()
    {
        string path = Write("data", new byte[Page]);
        (SafeFileHandle h, int fd, Stat st) = Open(path);
        var cache = new HostPageCache(_mf);
        long[] before = new long[1];
        using (h)
        {
            Assert.Equal(0, cache.Reference(fd, st, 0, before));
        }

        byte[] changed = new byte[Page];
        changed[0] = 42;
        File.WriteAllBytes(path, changed);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        (h, fd, st) = Open(path);
        using (h)
        {
            long[] after = new long[1];
            Assert.Equal(0, cache.Reference(fd, st, 0, after));

            Assert.NotEqual(before[0], after[0]);
            Assert.Equal(0, Bytes(before[0], 1)[0]); // the old mapping keeps what it had
            Assert.Equal(42, Bytes(after[0], 1)[0]);
            Release(after);
        }

        Release(before);
    }

    [Fact]
    public void Trim_GivesBackOnlyPagesNoMappingHolds()
    {
        (SafeFileHandle h, int fd, Stat st) = Open(Write("two", new byte[2 * Page]));
        using (h)
        {
            var cache = new HostPageCache(_mf);
            long[] held = new long[2];
            Assert.Equal(0, cache.Reference(fd, st, 0, held));
            _mf.Free(held[1], Mman.PageSize); // the second page's mapping went away

            Assert.True(cache.Trim());

            Assert.Equal(Mman.PageSize, _mf.AllocatedBytes); // the held page (the mapping's and the cache's references)
            Assert.Equal(1, cache.Count);
            _mf.Free(held[0], Mman.PageSize);
            Assert.True(cache.Trim());
            Assert.Equal(0, cache.Count);
            Assert.Equal(0UL, _mf.AllocatedBytes);
        }
    }

    [Fact]
    public void Reference_BeyondTheFile_IsEinval()
    {
        (SafeFileHandle h, int fd, Stat st) = Open(Write("small", new byte[10]));
        using (h)
        {
            var cache = new HostPageCache(_mf);
            Assert.Equal(-Errno.EINVAL.Value, cache.Reference(fd, st, 0, new long[2]));
        }
    }
}
