using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Vfs;

namespace Moat.Tests.Vfs;

public class FdTableTests
{
    private const int Limit = 1024;

    /// <summary>A description that only counts how often its last reference went.</summary>
    private sealed class CountingFile : FileDescription
    {
        public int Releases { get; private set; }

        public override long Stat(out Stat st)
        {
            st = default;
            return 0;
        }

        protected override void Release() => Releases++;
    }

    // A description whose only reference is the table slot it was added to.
    private static CountingFile AddOwned(FdTable t, out int fd, bool cloexec = false, int minFd = 0)
    {
        var f = new CountingFile();
        fd = t.Add(f, cloexec, minFd, Limit);
        f.DecRef();
        return f;
    }

    [Fact]
    public void Add_EmptyTable_ReturnsLowestFds()
    {
        var t = new FdTable();

        AddOwned(t, out int a);
        AddOwned(t, out int b);
        AddOwned(t, out int c);

        Assert.Equal(0, a);
        Assert.Equal(1, b);
        Assert.Equal(2, c);
    }

    [Fact]
    public void Add_AfterRemove_ReusesLowestFreeFd()
    {
        var t = new FdTable();
        for (int i = 0; i < 4; i++)
        {
            AddOwned(t, out _);
        }

        t.Remove(1);
        t.Remove(2);
        AddOwned(t, out int fd);

        Assert.Equal(1, fd);
    }

    [Fact]
    public void Add_MinFd_ReturnsLowestFreeAtOrAboveIt()
    {
        var t = new FdTable();
        AddOwned(t, out _);
        AddOwned(t, out _, minFd: 5);
        AddOwned(t, out int next, minFd: 5);
        AddOwned(t, out int low, minFd: 0);

        Assert.Equal(6, next);
        Assert.Equal(1, low);
        Assert.Equal(new List<int> { 0, 1, 5, 6 }, t.OpenFds());
    }

    [Fact]
    public void Add_MinFdBeyondCurrentSize_GrowsTable()
    {
        var t = new FdTable();

        AddOwned(t, out int fd, minFd: 100);

        Assert.Equal(100, fd);
        Assert.NotNull(t.Get(100));
    }

    [Fact]
    public void Add_AtLimit_ReturnsEMFILEWithoutTakingReference()
    {
        var t = new FdTable();
        var f = new CountingFile();
        Assert.Equal(0, t.Add(f, false, 0, 2));
        Assert.Equal(1, t.Add(f, false, 0, 2));

        Assert.Equal(-Errno.EMFILE.Value, t.Add(f, false, 0, 2));
        Assert.Equal(-Errno.EMFILE.Value, t.Add(f, false, 5, 5));

        // Two table references plus the creator's: three drops release it.
        t.Remove(0);
        t.Remove(1);
        Assert.Equal(0, f.Releases);
        f.DecRef();
        Assert.Equal(1, f.Releases);
    }

    [Fact]
    public void Get_TakesReference_ReleaseOnlyAfterBothDropped()
    {
        var t = new FdTable();
        CountingFile f = AddOwned(t, out int fd);

        FileDescription? g = t.Get(fd);
        Assert.Same(f, g);

        Assert.Equal(0, t.Remove(fd));
        Assert.Equal(0, f.Releases);
        g!.DecRef();
        Assert.Equal(1, f.Releases);
    }

    [Fact]
    public void Get_ClosedOrOutOfRangeFd_ReturnsNull()
    {
        var t = new FdTable();
        AddOwned(t, out _);

        Assert.Null(t.Get(1));
        Assert.Null(t.Get(-1));
        Assert.Null(t.Get(100000));
        Assert.Null(t.Get(int.MinValue));
    }

    [Fact]
    public void Remove_OpenFd_ReleasesAndClosesSlot()
    {
        var t = new FdTable();
        CountingFile f = AddOwned(t, out int fd);

        Assert.Equal(0, t.Remove(fd));

        Assert.Equal(1, f.Releases);
        Assert.Null(t.Get(fd));
    }

    [Fact]
    public void Remove_ClosedFd_ReturnsEBADF()
    {
        var t = new FdTable();
        AddOwned(t, out int fd);
        t.Remove(fd);

        Assert.Equal(-Errno.EBADF.Value, t.Remove(fd));
        Assert.Equal(-Errno.EBADF.Value, t.Remove(7));
        Assert.Equal(-Errno.EBADF.Value, t.Remove(-1));
        Assert.Equal(-Errno.EBADF.Value, t.Remove(1 << 20));
    }

    [Fact]
    public void Set_OccupiedFd_ReplacesAndReleasesOld()
    {
        var t = new FdTable();
        CountingFile old = AddOwned(t, out int fd);
        var repl = new CountingFile();

        t.Set(fd, repl, cloexec: true);
        repl.DecRef();

        Assert.Equal(1, old.Releases);
        Assert.Equal(0, repl.Releases);
        FileDescription? g = t.Get(fd);
        Assert.Same(repl, g);
        g!.DecRef();
        Assert.Equal(1, t.CloseOnExec(fd, null));
        t.Remove(fd);
        Assert.Equal(1, repl.Releases);
    }

    [Fact]
    public void Set_SameFileOnItself_KeepsIt()
    {
        var t = new FdTable();
        CountingFile f = AddOwned(t, out int fd);

        t.Set(fd, f, cloexec: false);

        Assert.Equal(0, f.Releases);
        t.Remove(fd);
        Assert.Equal(1, f.Releases);
    }

    [Fact]
    public void Set_BeyondSize_GrowsTable()
    {
        var t = new FdTable();
        var f = new CountingFile();

        t.Set(500, f, cloexec: false);
        f.DecRef();

        Assert.Equal(new List<int> { 500 }, t.OpenFds());
        Assert.Equal(0, f.Releases);
    }

    [Fact]
    public void CloseOnExec_GetAndSet_RoundTrips()
    {
        var t = new FdTable();
        AddOwned(t, out int plain);
        AddOwned(t, out int cloexec, cloexec: true);

        Assert.Equal(0, t.CloseOnExec(plain, null));
        Assert.Equal(1, t.CloseOnExec(cloexec, null));
        Assert.Equal(1, t.CloseOnExec(plain, true));
        Assert.Equal(1, t.CloseOnExec(plain, null));
        Assert.Equal(0, t.CloseOnExec(cloexec, false));
        Assert.Equal(0, t.CloseOnExec(cloexec, null));
    }

    [Fact]
    public void CloseOnExec_ClosedFd_ReturnsEBADF()
    {
        var t = new FdTable();

        Assert.Equal(-Errno.EBADF.Value, t.CloseOnExec(0, null));
        Assert.Equal(-Errno.EBADF.Value, t.CloseOnExec(3, true));
        Assert.Equal(-Errno.EBADF.Value, t.CloseOnExec(-1, null));
    }

    [Fact]
    public void Remove_ThenAddSameFd_ClearsCloexec()
    {
        var t = new FdTable();
        AddOwned(t, out int fd, cloexec: true);
        t.Remove(fd);

        AddOwned(t, out int again);

        Assert.Equal(fd, again);
        Assert.Equal(0, t.CloseOnExec(again, null));
    }

    [Fact]
    public void Fork_SharesDescriptionsWithNewReferences()
    {
        var t = new FdTable();
        CountingFile f = AddOwned(t, out int fd, cloexec: true);

        FdTable child = t.Fork();

        FileDescription? g = child.Get(fd);
        Assert.Same(f, g);
        g!.DecRef();
        Assert.Equal(1, child.CloseOnExec(fd, null));

        t.Remove(fd);
        Assert.Equal(0, f.Releases);
        child.Remove(fd);
        Assert.Equal(1, f.Releases);
    }

    [Fact]
    public void Fork_TablesAreIndependentAfterwards()
    {
        var t = new FdTable();
        AddOwned(t, out _);
        AddOwned(t, out _);
        FdTable child = t.Fork();

        child.Remove(0);
        AddOwned(child, out int cfd, minFd: 3);
        t.CloseOnExec(1, true);

        Assert.Equal(new List<int> { 0, 1 }, t.OpenFds());
        Assert.Equal(new List<int> { 1, 3 }, child.OpenFds());
        Assert.Equal(3, cfd);
        Assert.Equal(0, child.CloseOnExec(1, null));
        Assert.Equal(-Errno.EBADF.Value, t.CloseOnExec(3, null));
    }

    [Fact]
    public void CloseOnExec_Exec_ClosesOnlyCloexecFds()
    {
        var t = new FdTable();
        CountingFile keep = AddOwned(t, out _);
        CountingFile drop1 = AddOwned(t, out _, cloexec: true);
        CountingFile keep2 = AddOwned(t, out _);
        CountingFile drop2 = AddOwned(t, out _, cloexec: true);

        t.CloseOnExec();

        Assert.Equal(new List<int> { 0, 2 }, t.OpenFds());
        Assert.Equal(0, keep.Releases);
        Assert.Equal(0, keep2.Releases);
        Assert.Equal(1, drop1.Releases);
        Assert.Equal(1, drop2.Releases);
    }

    [Fact]
    public void CloseRange_Close_ClosesOnlyOpenFdsInRange()
    {
        var t = new FdTable();
        var files = new List<CountingFile>();
        for (int i = 0; i < 6; i++)
        {
            files.Add(AddOwned(t, out _));
        }

        t.Remove(3);
        t.CloseRange(2, 4, cloexecOnly: false);

        Assert.Equal(new List<int> { 0, 1, 5 }, t.OpenFds());
        Assert.Equal(new[] { 0, 0, 1, 1, 1, 0 }, files.ConvertAll(f => f.Releases).ToArray());
    }

    [Fact]
    public void CloseRange_ToUintMax_ClosesEverythingFromFirst()
    {
        var t = new FdTable();
        for (int i = 0; i < 3; i++)
        {
            AddOwned(t, out _);
        }

        AddOwned(t, out _, minFd: 40);

        t.CloseRange(1, uint.MaxValue, cloexecOnly: false);

        Assert.Equal(new List<int> { 0 }, t.OpenFds());
    }

    [Fact]
    public void CloseRange_CloexecOnly_MarksWithoutClosing()
    {
        var t = new FdTable();
        var files = new List<CountingFile>();
        for (int i = 0; i < 4; i++)
        {
            files.Add(AddOwned(t, out _));
        }

        t.CloseRange(1, 2, cloexecOnly: true);

        Assert.Equal(new List<int> { 0, 1, 2, 3 }, t.OpenFds());
        Assert.Equal(0, t.CloseOnExec(0, null));
        Assert.Equal(1, t.CloseOnExec(1, null));
        Assert.Equal(1, t.CloseOnExec(2, null));
        Assert.Equal(0, t.CloseOnExec(3, null));
        Assert.All(files, f => Assert.Equal(0, f.Releases));

        t.CloseOnExec();
        Assert.Equal(new List<int> { 0, 3 }, t.OpenFds());
    }

    [Fact]
    public void OpenFds_EmptyTable_IsEmpty()
    {
        var t = new FdTable();

        Assert.Empty(t.OpenFds());
    }

    [Fact]
    public void OpenFds_WithHoles_ListsOpenFdsInOrder()
    {
        var t = new FdTable();
        AddOwned(t, out _, minFd: 9);
        AddOwned(t, out _, minFd: 2);
        AddOwned(t, out _, minFd: 30);
        AddOwned(t, out _);

        Assert.Equal(new List<int> { 0, 2, 9, 30 }, t.OpenFds());
    }

    [Fact]
    public void DecUsers_SingleUser_ReleasesEverything()
    {
        var t = new FdTable();
        CountingFile a = AddOwned(t, out _);
        CountingFile b = AddOwned(t, out _, minFd: 20);

        t.DecUsers();

        Assert.Equal(1, a.Releases);
        Assert.Equal(1, b.Releases);
        Assert.Empty(t.OpenFds());
        Assert.Null(t.Get(0));
    }

    [Fact]
    public void DecUsers_SharedTable_ReleasesOnlyWhenLastUserGoes()
    {
        var t = new FdTable();
        CountingFile f = AddOwned(t, out int fd);
        t.IncUsers();
        t.IncUsers();

        t.DecUsers();
        t.DecUsers();
        Assert.Equal(0, f.Releases);
        Assert.Equal(new List<int> { fd }, t.OpenFds());

        t.DecUsers();
        Assert.Equal(1, f.Releases);
        Assert.Empty(t.OpenFds());
    }

    [Fact]
    public void DecUsers_ForkedChildStillHolds_DescriptionSurvives()
    {
        var t = new FdTable();
        CountingFile f = AddOwned(t, out int fd);
        FdTable child = t.Fork();

        t.DecUsers();
        Assert.Equal(0, f.Releases);

        child.Remove(fd);
        Assert.Equal(1, f.Releases);
    }
}
