using System.Threading;
using Moat.Abi;
using Moat.Sentry.Vfs;

namespace Moat.Tests.Vfs;

public sealed class FileLocksTests
{
    private static long s_nextIno = 1;

    // Each test its own file identity: the lock table is shared by the whole process.
    private static FileKey NewKey() => new(0xfeed, (ulong)Interlocked.Increment(ref s_nextIno));

    private static long Set(FileKey key, object owner, bool unlock, bool write, long start, long end) =>
        FileLocks.Set(null!, key, owner, 1, unlock, write, start, end, wait: false);

    [Fact]
    public void Unlocking_TheMiddle_SplitsTheRange()
    {
        FileKey key = NewKey();
        var owner = new FdTable();
        var other = new FdTable();

        Assert.Equal(0, Set(key, owner, false, true, 0, 99));
        Assert.Equal(0, Set(key, owner, true, false, 40, 59));

        Assert.Null(FileLocks.Test(key, other, true, 45, 45));
        RecordLock? low = FileLocks.Test(key, other, true, 30, 30);
        RecordLock? high = FileLocks.Test(key, other, true, 70, 70);
        Assert.Equal((0L, 39L), (low!.Start, low.End));
        Assert.Equal((60L, 99L), (high!.Start, high.End));
        Assert.Equal(0, Set(key, owner, true, false, 0, long.MaxValue));
    }

    [Fact]
    public void AdjacentRangesOfOneType_Merge()
    {
        FileKey key = NewKey();
        var owner = new FdTable();

        Assert.Equal(0, Set(key, owner, false, true, 100, 109));
        Assert.Equal(0, Set(key, owner, false, true, 110, 119));
        RecordLock? merged = FileLocks.Test(key, new FdTable(), false, 105, 105);

        Assert.Equal((100L, 119L), (merged!.Start, merged.End));
        Assert.Equal(0, Set(key, owner, true, false, 0, long.MaxValue));
    }

    [Fact]
    public void ReadLocks_Share_WriteLocksConflict()
    {
        FileKey key = NewKey();
        var a = new FdTable();
        var b = new FdTable();

        Assert.Equal(0, Set(key, a, false, false, 0, 9));
        Assert.Equal(0, Set(key, b, false, false, 5, 14));
        Assert.Equal(-Errno.EAGAIN.Value, Set(key, b, false, true, 0, 0));
        Assert.Equal(0, Set(key, b, false, true, 10, 14)); // upgrading its own lock beyond a's range
        Assert.Equal(0, Set(key, a, true, false, 0, long.MaxValue));
        Assert.Equal(0, Set(key, b, true, false, 0, long.MaxValue));
    }

    [Fact]
    public void ClosingAnyFdOfTheFile_DropsTheTablesPosixLocks()
    {
        var pipe = new Pipe();
        var first = new PipeEnd(pipe, reader: true, 0);
        var second = new PipeEnd(pipe, reader: true, 0);
        var table = new FdTable();
        Assert.Equal(0, FileLocks.KeyOf(first, out FileKey key));
        int a = table.Add(first, false, 0, 100);
        int b = table.Add(second, false, 0, 100);
        first.DecRef();
        second.DecRef();

        Assert.Equal(0, Set(key, table, false, true, 0, 10));
        Assert.NotNull(FileLocks.Test(key, new FdTable(), true, 5, 5));
        Assert.Equal(0, table.Remove(b)); // another fd of the same file than the one that locked
        Assert.Null(FileLocks.Test(key, new FdTable(), true, 5, 5));
        table.Remove(a);
    }

    [Fact]
    public void Flock_BelongsToTheDescription_AndGoesWithItsLastClose()
    {
        var pipe = new Pipe();
        var first = new PipeEnd(pipe, reader: true, 0);
        var second = new PipeEnd(pipe, reader: true, 0);

        Assert.Equal(0, FileLocks.Flock(null!, first, unlock: false, exclusive: true, nonBlocking: true));
        Assert.Equal(-Errno.EAGAIN.Value, FileLocks.Flock(null!, second, unlock: false, exclusive: false, nonBlocking: true));
        first.IncRef();
        first.DecRef(); // not the last reference: still locked
        Assert.Equal(-Errno.EAGAIN.Value, FileLocks.Flock(null!, second, unlock: false, exclusive: true, nonBlocking: true));
        first.DecRef();
        Assert.Equal(0, FileLocks.Flock(null!, second, unlock: false, exclusive: true, nonBlocking: true));
        second.DecRef();
    }
}
