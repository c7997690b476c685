using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;

namespace Moat.Tests.Kernel.Ipc;

public class IpcIdTableTests
{
    private static MsgQueue Queue(int key = 0) => new(key, Credentials.Root, 0x180);

    [Fact]
    public void Add_FirstIds_AreIndicesWithSequenceZero()
    {
        var t = new IpcIdTable<MsgQueue>();
        MsgQueue a = Queue();
        MsgQueue b = Queue();

        t.Add(a, 100);
        t.Add(b, 100);

        Assert.Equal(0, a.Id);
        Assert.Equal(1, b.Id);
        Assert.Equal(1, t.MaxIndex);
    }

    [Fact]
    public void Add_AfterRemoval_KeepsCyclingThenWrapsWithANewSequence()
    {
        var t = new IpcIdTable<MsgQueue>();
        MsgQueue first = Queue();
        t.Add(first, 100);
        t.Remove(first);

        // The cursor moves on: index 1, 2, ... up to the 64-entry cycle, then back to 0 with seq 1.
        int last = -1;
        for (int i = 1; i < 64; i++)
        {
            MsgQueue q = Queue();
            t.Add(q, 100);
            last = q.Id;
            t.Remove(q);
        }

        MsgQueue wrapped = Queue();
        t.Add(wrapped, 100);

        Assert.Equal(63, last);
        Assert.Equal(IpcIdTable<MsgQueue>.IpcMni, wrapped.Id);
        Assert.Equal(1, wrapped.Seq);
    }

    [Fact]
    public void Find_StaleSequence_IsNull()
    {
        var t = new IpcIdTable<MsgQueue>();
        MsgQueue q = Queue();
        t.Add(q, 100);

        Assert.Same(q, t.Find(q.Id));
        Assert.Null(t.Find(q.Id + IpcIdTable<MsgQueue>.IpcMni));
        Assert.Null(t.Find(-1));
    }

    [Fact]
    public void Add_AtLimit_Fails()
    {
        var t = new IpcIdTable<MsgQueue>();
        Assert.True(t.Add(Queue(), 1));

        Assert.False(t.Add(Queue(), 1));
    }

    [Fact]
    public void MakePrivate_ForgetsTheKey()
    {
        var t = new IpcIdTable<MsgQueue>();
        MsgQueue q = Queue(1234);
        t.Add(q, 100);

        t.MakePrivate(q);

        Assert.Null(t.FindKey(1234));
        Assert.Same(q, t.Find(q.Id));
        Assert.Equal(0, q.Key);
    }

    [Fact]
    public void MayAccess_OtherUser_UsesTheOtherBits()
    {
        MsgQueue q = Queue(); // 0600, root's
        var nobody = new Credentials(65534, 65534, 65534, 65534, 65534, 65534);

        Assert.False(q.MayAccess(nobody, 0x124));
        Assert.True(q.MayAccess(Credentials.Root, 0x1ff));
        q.Mode = 0x184; // 0604
        Assert.True(q.MayAccess(nobody, 0x124));
        Assert.False(q.MayAccess(nobody, 0x92));
    }
}

public class SemSetTests
{
    // The process the operations are made for: pid 7 of the root namespace.
    private static readonly Pid Seven = new(new PidNamespace(), 7);

    [Fact]
    public void TryApply_BlockingOp_TakesBackEarlierOnes()
    {
        var s = new SemSet(0, Credentials.Root, 0x180, 2);
        s.Values[0] = 1;
        SemBuf[] ops = [new() { sem_num = 0, sem_op = -1 }, new() { sem_num = 1, sem_op = -1 }];

        int r = s.TryApply(ops, null, Seven, out int blocking);

        Assert.Equal(1, r);
        Assert.Equal(1, blocking);
        Assert.Equal(1, s.Values[0]);
    }

    [Fact]
    public void TryApply_NowaitOnTheBlockingOp_IsEagain()
    {
        var s = new SemSet(0, Credentials.Root, 0x180, 1);
        SemBuf[] ops = [new() { sem_num = 0, sem_op = -1, sem_flg = IpcConst.IPC_NOWAIT }];

        Assert.Equal(-Errno.EAGAIN.Value, s.TryApply(ops, null, Seven, out _));
    }

    [Fact]
    public void TryApply_BeyondSemvmx_IsErange()
    {
        var s = new SemSet(0, Credentials.Root, 0x180, 1);
        s.Values[0] = SemSet.MaxValue;
        SemBuf[] ops = [new() { sem_num = 0, sem_op = 1 }];

        Assert.Equal(-Errno.ERANGE.Value, s.TryApply(ops, null, Seven, out _));
        Assert.Equal(SemSet.MaxValue, s.Values[0]);
    }

    [Fact]
    public void TryApply_SameSemaphoreTwice_AppliesInOrderAndRecordsUndo()
    {
        var s = new SemSet(0, Credentials.Root, 0x180, 1);
        var undo = new SemUndo(s, new SemUndoList());
        SemBuf[] ops = [new() { sem_num = 0, sem_op = 3, sem_flg = IpcConst.SEM_UNDO }, new() { sem_num = 0, sem_op = -2, sem_flg = IpcConst.SEM_UNDO }];

        Assert.Equal(0, s.TryApply(ops, undo, Seven, out _));

        Assert.Equal(1, s.Values[0]);
        Assert.Equal(-1, undo.Adjust[0]);
        Assert.Same(Seven, s.Pids[0]);
    }
}

public class MsgQueueTests
{
    private static MsgQueue With(params long[] types)
    {
        var q = new MsgQueue(0, Credentials.Root, 0x180);
        foreach (long t in types)
        {
            q.Messages.AddLast(new Message(t, []));
        }

        return q;
    }

    [Fact]
    public void Find_LessEqual_TakesTheLowestTypeOldestFirst()
    {
        MsgQueue q = With(3, 2, 1, 2, 1);

        Assert.Same(q.Messages.First!.Next!.Next, q.Find(2, MsgSearch.LessEqual));
        Assert.Null(q.Find(0, MsgSearch.LessEqual));
    }

    [Fact]
    public void Find_NotEqual_SkipsThatType()
    {
        MsgQueue q = With(1, 1, 4);

        Assert.Equal(4, q.Find(1, MsgSearch.NotEqual)!.Value.Type);
    }

    [Fact]
    public void Find_Number_CountsFromZero()
    {
        MsgQueue q = With(5, 6, 7);

        Assert.Equal(7, q.Find(2, MsgSearch.Number)!.Value.Type);
        Assert.Null(q.Find(3, MsgSearch.Number));
    }
}
