using System.Threading;

namespace Moat.Platform.Systrap;

/// <summary>
/// One untraced stub thread that runs a task's application code, and the Sentry's view of its sysmsg
/// header. The field offsets match stub.S.
/// </summary>
internal sealed unsafe class AppThread
{
    public const int StateRunning = 0;
    public const int StateTrapped = 1;
    public const int StateResume = 2;
    public const int StateExit = 3;

    private const int HState = 0;
    private const int HSentryWaiting = 4;
    private const int HStubWaiting = 8;
    private const int HSpin = 12;
    private const int HUcontext = 16;
    private const int HSiginfo = 24;
    private const int HFsBase = 32;
    private const int HGsBase = 40;
    private const int HFsBaseOut = 48;
    private const int HGsBaseOut = 56;
    private const int HSeq = 64;
    private const int HSelf = 72;
    private const int HFpDirty = 80;

    // Where the patched path builds its frame (stub.S's P_UC): the first page after the header.
    private const int PatchUcontext = 0x1080;

    public AppThread(int slot, byte* region)
    {
        Slot = slot;
        Region = region;
        StubAddress = SysmsgArea.StubAddress(slot);

        // The patched path checks that %gs points at a region whose header names itself.
        *(ulong*)(Region + HSelf) = StubAddress;
    }

    public int Slot { get; }

    /// <summary>The host tid, once the clone succeeded.</summary>
    public int Tid { get; set; }

    /// <summary>The Sentry's mapping of the region.</summary>
    public byte* Region { get; }

    /// <summary>Where the region sits in the stub.</summary>
    public ulong StubAddress { get; }

    public int* State => (int*)(Region + HState);

    public int* SentryWaiting => (int*)(Region + HSentryWaiting);

    public int* StubWaiting => (int*)(Region + HStubWaiting);

    public uint StubSpin
    {
        set => Volatile.Write(ref *(uint*)(Region + HSpin), value);
    }

    public ulong UcontextAddress => Volatile.Read(ref *(ulong*)(Region + HUcontext));

    public ulong SiginfoAddress => Volatile.Read(ref *(ulong*)(Region + HSiginfo));

    /// <summary>How many traps the handler has reported (it counts each one before it flips the state).</summary>
    public uint TrapCount => Volatile.Read(ref *(uint*)(Region + HSeq));

    /// <summary>The ucontext address a trap through a patched syscall site reports.</summary>
    public ulong PatchFrameAddress => StubAddress + PatchUcontext;

    /// <summary>Tells the patched path that the Sentry replaced the frame's FXSAVE image (it restores it only then).</summary>
    public void MarkFpStateChanged() => Volatile.Write(ref *(int*)(Region + HFpDirty), 1);

    public ulong FsBase => *(ulong*)(Region + HFsBase);

    public ulong GsBase => *(ulong*)(Region + HGsBase);

    public void SetBasesOut(ulong fs, ulong gs)
    {
        *(ulong*)(Region + HFsBaseOut) = fs;
        *(ulong*)(Region + HGsBaseOut) = gs;
    }

    /// <summary>
    /// The Sentry's pointer to <paramref name="length"/> bytes at stub address <paramref name="addr"/> inside
    /// the signal-stack part of this region, or null if the app pointed somewhere else.
    /// </summary>
    public byte* Resolve(ulong addr, int length)
    {
        ulong lo = StubAddress + SystrapStubImage.HeaderSize;
        ulong hi = StubAddress + SystrapStubImage.RegionSize;
        if (addr < lo || addr > hi || (ulong)length > hi - addr)
        {
            return null;
        }

        return Region + (addr - StubAddress);
    }
}
