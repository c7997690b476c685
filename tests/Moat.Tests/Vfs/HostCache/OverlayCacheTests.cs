using System;
using System.IO;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs;
using Moat.Tests.Kernel;
using Moat.Tests.Mm;

namespace Moat.Tests.Vfs.HostCache;

/// <summary>
/// The root overlay over a cached host layer: repeated lookups stay in the Sentry, and the overlay's own
/// changes (copy-up, whiteouts, renames, new names over negative entries) are always seen.
/// </summary>
public sealed class OverlayCacheTests : IDisposable
{
    private readonly HostRoot _root = new();
    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;
    private readonly Task _task;
    private readonly ulong _buf;

    public OverlayCacheTests()
    {
        File.WriteAllText(_root.HostPath("file"), "host data");
        Directory.CreateDirectory(_root.HostPath("dir"));
        File.WriteAllText(_root.HostPath("dir/inner"), "x");
        File.CreateSymbolicLink(_root.HostPath("link"), "file");

        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
        var kernel = new Moat.Sentry.Kernel.Kernel(_mf, new NullPlatform(), _root, TextWriter.Null);
        _task = new Task(kernel, new ThreadGroup(1, null, "/test") { Mounts = kernel.Mounts }, 1, _mm, new FdTable(), Credentials.Root);
        _buf = (ulong)_mm.MmapAnonymous(0, 4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS);
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void StatOpenReadLink_Repeated_AskTheGoferOnce()
    {
        Assert.Equal(9, StatSize("/file"));
        Assert.Equal(0, PathOps.ReadLink(_task, "/link", out _));
        Close(OpenRead("/file"));
        int calls = _root.Calls;

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(9, StatSize("/file"));
            Assert.Equal(9, StatSize("/link"));
            Assert.Equal(0, PathOps.ReadLink(_task, "/link", out string target));
            Assert.Equal("file", target);
            Close(OpenRead("/file"));
        }

        Assert.Equal(calls + 1, _root.Calls); // the first stat through /link
    }

    [Fact]
    public void OpensOfOneCachedFile_KeepTheirOwnOffsets()
    {
        FileDescription a = OpenRead("/file");
        FileDescription b = OpenRead("/file");

        Assert.Equal(4, a.Read(_task, IoSequence.App(_buf, 4), -1));
        Assert.Equal(9, b.Read(_task, IoSequence.App(_buf, 100), -1));
        Assert.Equal(5, a.Read(_task, IoSequence.App(_buf, 100), -1));
        Assert.Equal(2, b.Seek(2, 0));
        Assert.Equal(7, b.Read(_task, IoSequence.App(_buf, 100), -1));
        Assert.Equal(9, a.Seek(0, 2));
        Assert.Equal(-Errno.EINVAL.Value, a.Seek(-10, 1));
        Close(a);
        Close(b);
    }

    [Fact]
    public void CopyUp_IsSeen_AfterTheHostFileWasCached()
    {
        Assert.Equal(9, StatSize("/file"));

        Assert.Equal(0, PathOps.Open(_task, "/file", OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, 0, out FileDescription? f));
        Close(f!);

        Assert.Equal(0, StatSize("/file"));
        Assert.Equal("host data", File.ReadAllText(_root.HostPath("file")));
    }

    [Fact]
    public void Unlink_LeavesAWhiteout_OverTheCachedName()
    {
        Assert.Equal(9, StatSize("/file"));
        Close(OpenRead("/file"));

        Assert.Equal(0, PathOps.Remove(_task, "/file", directory: false));

        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/file", true, out _));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Open(_task, "/file", OpenFlags.O_RDONLY, 0, out _));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Remove(_task, "/file", directory: false));
    }

    [Fact]
    public void Rename_MovesTheName_BothWays()
    {
        Assert.Equal(9, StatSize("/file"));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/moved", true, out _));

        Assert.Equal(0, PathOps.Rename(_task, "/file", "/moved", noReplace: false));

        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/file", true, out _));
        Assert.Equal(9, StatSize("/moved"));

        Assert.Equal(0, PathOps.Rename(_task, "/moved", "/file", noReplace: false));
        Assert.Equal(9, StatSize("/file"));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/moved", true, out _));
    }

    [Fact]
    public void ANewName_OverANegativeEntry_IsSeen()
    {
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/new", true, out _));

        Assert.Equal(0, PathOps.Open(_task, "/new", OpenFlags.O_WRONLY | OpenFlags.O_CREAT, 0x1A4, out FileDescription? f));
        Close(f!);
        Assert.Equal(0, StatSize("/new"));
        Assert.Equal(0, PathOps.Mkdir(_task, "/newdir", 0x1ED));
        Assert.Equal(0, PathOps.Stat(_task, "/newdir", true, out Stat st));
        Assert.Equal(Stat.S_IFDIR, st.st_mode & Stat.S_IFMT);

        Assert.Equal(0, PathOps.Remove(_task, "/new", directory: false));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/new", true, out _));
    }

    [Fact]
    public void ARemovedHostDirectory_HidesItsCachedChildren()
    {
        Assert.Equal(1, StatSize("/dir/inner"));

        Assert.Equal(0, PathOps.Remove(_task, "/dir/inner", directory: false));
        Assert.Equal(0, PathOps.Remove(_task, "/dir", directory: true));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/dir/inner", true, out _));

        // Made again, the directory is opaque: nothing of the host's shows through.
        Assert.Equal(0, PathOps.Mkdir(_task, "/dir", 0x1ED));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/dir/inner", true, out _));

        // Removed again, it stays removed: the host's directory must not show through.
        Assert.Equal(0, PathOps.Remove(_task, "/dir", directory: true));
        Assert.Equal(-Errno.ENOENT.Value, PathOps.Stat(_task, "/dir", true, out _));
    }

    private long StatSize(string path)
    {
        long r = PathOps.Stat(_task, path, true, out Stat st);
        return r < 0 ? r : st.st_size;
    }

    private FileDescription OpenRead(string path)
    {
        Assert.Equal(0, PathOps.Open(_task, path, OpenFlags.O_RDONLY, 0, out FileDescription? f));
        return f!;
    }

    private static void Close(FileDescription f) => f.DecRef();
}
