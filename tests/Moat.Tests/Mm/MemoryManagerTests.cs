using System;
using System.Linq;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

public sealed class MemoryManagerTests : IDisposable
{
    private const ulong Page = Mman.PageSize;
    private const ulong Huge = Mman.HugePageSize;
    private const ulong MinAddr = 0x10000;
    private const ulong MaxAddr = 0x7f00_0000_0000;
    private const ulong Base = 0x7e00_0000_0000;

    // A 2 MiB-aligned area well away from Base for fixed mappings.
    private const ulong Fixed = 0x4000_0000;

    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;
    private const int Private = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS;
    private const int PrivateFixed = Private | Mman.MAP_FIXED;

    private readonly MemoryFile _mf = new();
    private readonly FakeAddressSpace _as = new();
    private readonly MemoryManager _mm;

    public MemoryManagerTests()
    {
        _mm = new MemoryManager(_mf, _as, MinAddr, MaxAddr) { MmapBase = Base };
        _mm.SetBrkStart(0x1000_0000);
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    private static long Err(Errno e) => -e.Value;

    private ulong MapFixed(ulong addr, ulong length, int prot = RW)
    {
        long r = _mm.MmapAnonymous(addr, length, prot, PrivateFixed);
        Assert.Equal((long)addr, r);
        return addr;
    }

    private byte[] Read(ulong addr, int length)
    {
        byte[] b = new byte[length];
        Assert.Equal(0, _mm.CopyIn(addr, b));
        return b;
    }

    // ---- mmap ----

    [Fact]
    public void MmapAnonymous_NoHint_PlacesTopDownBelowMmapBase()
    {
        long a = _mm.MmapAnonymous(0, 3 * Page, RW, Private);
        long b = _mm.MmapAnonymous(0, Page, RW, Private);

        Assert.Equal((long)(Base - 3 * Page), a);
        Assert.Equal((long)(Base - 4 * Page), b);
    }

    [Fact]
    public void MmapAnonymous_UnalignedLength_RoundsUpToPages()
    {
        long a = _mm.MmapAnonymous(0, 1, RW, Private);

        Assert.Equal((long)(Base - Page), a);
        Assert.Equal(Page, _mm.MappedBytes);
    }

    [Fact]
    public void MmapAnonymous_FreeHint_IsHonoured()
    {
        long a = _mm.MmapAnonymous(0x2000_0000, 2 * Page, RW, Private);

        Assert.Equal(0x2000_0000L, a);
    }

    [Fact]
    public void MmapAnonymous_OccupiedHint_FallsBackTopDown()
    {
        MapFixed(0x2000_0000, Page);

        long a = _mm.MmapAnonymous(0x2000_0000, Page, RW, Private);

        Assert.Equal((long)(Base - Page), a);
    }

    [Fact]
    public void MmapAnonymous_HintBelowMinAddress_NeverMapsBelowMinAddress()
    {
        long a = _mm.MmapAnonymous(0x1000, Page, RW, Private);

        Assert.True(a >= (long)MinAddr, a.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(0, a & (long)(Page - 1));
        Assert.Equal(SigInfo.SEGV_MAPERR, _mm.HandleFault(0x1000, false));
    }

    [Fact]
    public void MmapAnonymous_SkipsOccupiedRangesTopDown()
    {
        MapFixed(Base - 2 * Page, 2 * Page);
        MapFixed(Base - 5 * Page, 2 * Page); // leaves a one-page hole at Base-3P

        long big = _mm.MmapAnonymous(0, 2 * Page, RW, Private);
        long small = _mm.MmapAnonymous(0, Page, RW, Private);

        Assert.Equal((long)(Base - 7 * Page), big);
        Assert.Equal((long)(Base - 3 * Page), small);
    }

    [Fact]
    public void MmapAnonymous_NoRoomBelowBase_PlacesAboveBase()
    {
        using var mf = new MemoryFile();
        using var mm = new MemoryManager(mf, new FakeAddressSpace(), MinAddr, 0x100000) { MmapBase = 0x30000 };

        long low = mm.MmapAnonymous(0, 0x20000, RW, Private);
        long high = mm.MmapAnonymous(0, 0x10000, RW, Private);
        long none = mm.MmapAnonymous(0, 0x100000, RW, Private);

        Assert.Equal(0x10000L, low);
        Assert.Equal(0x30000L, high);
        Assert.Equal(Err(Errno.ENOMEM), none);
    }

    [Fact]
    public void MmapAnonymous_Fixed_PlacesExactly()
    {
        long a = _mm.MmapAnonymous(Fixed, Page, Mman.PROT_READ, PrivateFixed);

        Assert.Equal((long)Fixed, a);
        Assert.Equal(Page, _mm.MappedBytes);
    }

    [Fact]
    public void MmapAnonymous_FixedOverExisting_ReplacesAndFreesOldMemory()
    {
        MapFixed(Fixed, 4 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + Page, "old data"u8));
        ulong usedBefore = _mf.AllocatedBytes;
        Assert.True(usedBefore > 0);

        MapFixed(Fixed, 4 * Page);

        Assert.Equal(0UL, _mf.AllocatedBytes);
        Assert.True(_as.UnmapCovers(Fixed, 4 * Page));
        Assert.Equal(4 * Page, _mm.MappedBytes);
        Assert.Equal(new byte[8], Read(Fixed + Page, 8));
    }

    [Fact]
    public void MmapAnonymous_FixedOverPart_KeepsTheRest()
    {
        MapFixed(Fixed, 4 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "keep"u8));

        MapFixed(Fixed + 2 * Page, 4 * Page, Mman.PROT_READ);

        Assert.Equal(6 * Page, _mm.MappedBytes);
        Assert.Equal("keep"u8.ToArray(), Read(Fixed, 4));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyOut(Fixed + 3 * Page, "x"u8));
    }

    [Fact]
    public void MmapAnonymous_FixedNoReplaceOverExisting_ReturnsEEXIST()
    {
        MapFixed(Fixed + Page, Page);

        long r = _mm.MmapAnonymous(Fixed, 2 * Page, RW, Private | Mman.MAP_FIXED_NOREPLACE);

        Assert.Equal(Err(Errno.EEXIST), r);
        Assert.Equal(Page, _mm.MappedBytes);
    }

    [Fact]
    public void MmapAnonymous_FixedNoReplaceOnFreeRange_MapsThere()
    {
        MapFixed(Fixed + 2 * Page, Page);

        long r = _mm.MmapAnonymous(Fixed, 2 * Page, RW, Private | Mman.MAP_FIXED_NOREPLACE);

        Assert.Equal((long)Fixed, r);
    }

    [Theory]
    [InlineData(Mman.MAP_FIXED)]
    [InlineData(Mman.MAP_FIXED_NOREPLACE)]
    public void MmapAnonymous_FixedUnalignedAddress_ReturnsEINVAL(int fixedFlag)
    {
        long r = _mm.MmapAnonymous(Fixed + 1, Page, RW, Private | fixedFlag);

        Assert.Equal(Err(Errno.EINVAL), r);
        Assert.Equal(0UL, _mm.MappedBytes);
    }

    [Fact]
    public void MmapAnonymous_FixedBelowMinAddress_ReturnsEPERM()
    {
        Assert.Equal(Err(Errno.EPERM), _mm.MmapAnonymous(0x1000, Page, RW, PrivateFixed));
    }

    [Fact]
    public void MmapAnonymous_FixedBeyondMaxAddress_ReturnsENOMEM()
    {
        Assert.Equal(Err(Errno.ENOMEM), _mm.MmapAnonymous(MaxAddr - Page, 2 * Page, RW, PrivateFixed));
    }

    [Fact]
    public void MmapAnonymous_UnknownProtBits_AcceptedAsOnLinux()
    {
        long sem = _mm.MmapAnonymous(0, Page, RW | 0x8, Private);
        long junk = _mm.MmapAnonymous(0, Page, RW | 0x10, Private);

        Assert.True(sem > 0, "PROT_SEM: " + sem);
        Assert.True(junk > 0, "0x10: " + junk);
        Assert.Equal(0, _mm.CopyOut((ulong)sem, "rw"u8));
    }

    [Fact]
    public void MmapAnonymous_HugeLength_ReturnsENOMEM()
    {
        Assert.Equal(Err(Errno.ENOMEM), _mm.MmapAnonymous(0, ulong.MaxValue - 10, RW, Private));
    }

    [Fact]
    public void MmapAnonymous_OverAddressSpaceLimit_ReturnsENOMEM()
    {
        _mm.AddressSpaceLimit = 4 * Page;
        Assert.True(_mm.MmapAnonymous(0, 3 * Page, RW, Private) > 0);

        long r = _mm.MmapAnonymous(0, 2 * Page, RW, Private);

        Assert.Equal(Err(Errno.ENOMEM), r);
        Assert.Equal(3 * Page, _mm.MappedBytes);
        Assert.True(_mm.MmapAnonymous(0, Page, RW, Private) > 0);
    }

    [Fact]
    public void MmapAnonymous_FixedReplacingWithinLimit_CountsReplacedBytes()
    {
        _mm.AddressSpaceLimit = 4 * Page;
        MapFixed(Fixed, 4 * Page);

        // Replacing mapped bytes does not grow the address space.
        long r = _mm.MmapAnonymous(Fixed, 4 * Page, Mman.PROT_READ, PrivateFixed);
        long over = _mm.MmapAnonymous(Fixed + 2 * Page, 3 * Page, RW, PrivateFixed);

        Assert.Equal((long)Fixed, r);
        Assert.Equal(Err(Errno.ENOMEM), over);
        Assert.Equal(4 * Page, _mm.MappedBytes);
    }

    // ---- munmap ----

    [Fact]
    public void Munmap_UnalignedAddress_ReturnsEINVAL()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EINVAL), _mm.Munmap(Fixed + 8, Page));
        Assert.Equal(Page, _mm.MappedBytes);
    }

    [Fact]
    public void Munmap_ZeroLength_ReturnsEINVAL()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EINVAL), _mm.Munmap(Fixed, 0));
        Assert.Equal(Page, _mm.MappedBytes);
    }

    [Fact]
    public void Munmap_BeyondTaskSize_ReturnsEINVAL()
    {
        // Linux checks against TASK_SIZE, not against what the platform lets the app map.
        Assert.Equal(Err(Errno.EINVAL), _mm.Munmap(MemoryManager.TaskSize - Page, 2 * Page));
        Assert.Equal(Err(Errno.EINVAL), _mm.Munmap(0, 1UL << 47));
        Assert.Equal(Err(Errno.EINVAL), _mm.Munmap(Fixed, ulong.MaxValue - 0x100));
    }

    [Fact]
    public void Munmap_WholeUserRange_UnmapsEverythingButStopsAtMaxAddress()
    {
        Assert.Equal((long)Fixed, _mm.MmapAnonymous(Fixed, Page, RW, PrivateFixed));
        Assert.Equal(0, _mm.Munmap(0, MemoryManager.TaskSize));
        Assert.Equal(0, _mm.Munmap(MaxAddr, Page));
        Assert.All(_as.Unmaps, u => Assert.True(u.Addr + u.Length <= MaxAddr));
    }

    [Fact]
    public void Munmap_Hole_SucceedsWithoutTouchingPlatform()
    {
        Assert.Equal(0, _mm.Munmap(Fixed, Page));
        Assert.Empty(_as.Unmaps);
    }

    [Fact]
    public void MunmapAndMprotect_OfUntouchedMemory_MakeNoHostTrip()
    {
        MapFixed(Fixed, 4 * Page);

        Assert.Equal(0, _mm.Mprotect(Fixed, 2 * Page, Mman.PROT_READ));
        Assert.Equal(0, _mm.Munmap(Fixed, 4 * Page));

        Assert.Empty(_as.Unmaps);
    }

    [Fact]
    public void Munmap_HostLetsGoBeforePagesAreFreed()
    {
        MapFixed(Fixed, Huge);
        Assert.Equal(0, _mm.HandleFault(Fixed, false));
        ulong usageAtHostUnmap = ulong.MaxValue;
        _as.OnUnmap = () => usageAtHostUnmap = _mf.AllocatedBytes;

        Assert.Equal(0, _mm.Munmap(Fixed, Huge));

        Assert.Equal(Huge, usageAtHostUnmap);
        Assert.Equal(0UL, _mf.AllocatedBytes);
    }

    [Fact]
    public void Munmap_HostUnmapFails_PagesAreNotFreed()
    {
        MapFixed(Fixed, Huge);
        Assert.Equal(0, _mm.HandleFault(Fixed, false));
        _as.UnmapResult = Err(Errno.EIO);

        Assert.Equal(Err(Errno.EIO), _mm.Munmap(Fixed, Huge));

        // Possibly still mapped in the host: never handed to another process.
        Assert.Equal(Huge, _mf.AllocatedBytes);
    }

    [Fact]
    public void Populate_MapsWhatFaultsWould_InOneBatch()
    {
        _as.Batches = true;
        MapFixed(Fixed, 4 * Page);
        MapFixed(Fixed + Huge, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "x"u8));
        Assert.Equal(0, _mm.CopyOut(Fixed + Huge, "y"u8));
        Assert.Equal(0, _mm.Mprotect(Fixed + Huge, Page, Mman.PROT_READ));
        _as.Maps.Clear();

        _mm.PopulateAll();

        Assert.Single(_as.Batched);
        Assert.Equal(2, _as.Maps.Count);
        Assert.Equal((Fixed, 4 * Page, RW), (_as.Maps[0].Addr, _as.Maps[0].Length, _as.Maps[0].Prot));
        Assert.Equal((Fixed + Huge, Page, Mman.PROT_READ), (_as.Maps[1].Addr, _as.Maps[1].Length, _as.Maps[1].Prot));
    }

    [Fact]
    public void Populate_WithoutBatches_LeavesItToFaults()
    {
        MapFixed(Fixed, 4 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "x"u8));
        _as.Maps.Clear();

        _mm.PopulateAll();

        Assert.Empty(_as.Maps);
    }

    [Fact]
    public void Fork_WriteProtectsTheParentInOneBatch_AndTheChildPopulatesReadOnly()
    {
        _as.Batches = true;
        MapFixed(Fixed, 4 * Page);
        MapFixed(Fixed + Huge, 4 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "a"u8));
        Assert.Equal(0, _mm.CopyOut(Fixed + Huge, "b"u8));

        using MemoryManager child = _mm.Fork();

        Assert.Single(_as.Batched);
        Assert.True(_as.UnmapCovers(Fixed, 4 * Page));
        Assert.True(_as.UnmapCovers(Fixed + Huge, 4 * Page));

        var childAs = new FakeAddressSpace { Batches = true };
        child.AttachAddressSpace(childAs);
        child.PopulateAll();
        Assert.Equal(2, childAs.Maps.Count);
        Assert.All(childAs.Maps, m => Assert.Equal(Mman.PROT_READ, m.Prot)); // copy-on-write: read-only until written
    }

    [Fact]
    public void Munmap_MiddlePage_SplitsVma()
    {
        MapFixed(Fixed, 3 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, new byte[3 * Page]));
        Assert.Equal(0, _mm.CopyOut(Fixed + 2 * Page, "tail"u8));

        long r = _mm.Munmap(Fixed + Page, Page);

        Assert.Equal(0, r);
        Assert.Equal(2 * Page, _mm.MappedBytes);
        Assert.True(_as.UnmapCovers(Fixed + Page, Page));
        Assert.False(_as.UnmapCovers(Fixed, Page));
        Assert.Equal(SigInfo.SEGV_MAPERR, _mm.HandleFault(Fixed + Page, false));
        Assert.Equal(0, _mm.HandleFault(Fixed, false));
        Assert.Equal(0, _mm.HandleFault(Fixed + 2 * Page, false));
        Assert.Equal("tail"u8.ToArray(), Read(Fixed + 2 * Page, 4));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(Fixed + Page, new byte[1]));
    }

    [Fact]
    public void Munmap_FreesBackingMemory()
    {
        MapFixed(Fixed, Huge);
        Assert.Equal(0, _mm.CopyOut(Fixed, "x"u8));
        Assert.Equal(Huge, _mf.AllocatedBytes);

        Assert.Equal(0, _mm.Munmap(Fixed, Huge));

        Assert.Equal(0UL, _mf.AllocatedBytes);
        Assert.Equal(0UL, _mm.MappedBytes);
    }

    [Fact]
    public void Munmap_UnalignedLength_RoundsUp()
    {
        MapFixed(Fixed, 2 * Page);

        Assert.Equal(0, _mm.Munmap(Fixed, 1));

        Assert.Equal(Page, _mm.MappedBytes);
        Assert.Equal(SigInfo.SEGV_MAPERR, _mm.HandleFault(Fixed, false));
    }

    // ---- mprotect ----

    [Fact]
    public void Mprotect_Hole_ReturnsENOMEM()
    {
        Assert.Equal(Err(Errno.ENOMEM), _mm.Mprotect(Fixed, Page, Mman.PROT_READ));
    }

    [Fact]
    public void Mprotect_RangeRunningIntoHole_ReturnsENOMEM()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.ENOMEM), _mm.Mprotect(Fixed, 2 * Page, Mman.PROT_READ));
    }

    [Fact]
    public void Mprotect_UnalignedAddress_ReturnsEINVAL()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EINVAL), _mm.Mprotect(Fixed + 1, Page, Mman.PROT_READ));
    }

    [Fact]
    public void Mprotect_ToNone_MakesFaultsAccessErrors()
    {
        MapFixed(Fixed, 2 * Page);
        Assert.Equal(0, _mm.HandleFault(Fixed, false));

        long r = _mm.Mprotect(Fixed, 2 * Page, Mman.PROT_NONE);

        Assert.Equal(0, r);
        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault(Fixed, false));
        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault(Fixed + Page, false));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(Fixed, new byte[1]));
    }

    [Fact]
    public void Mprotect_DropsPlatformMappings()
    {
        MapFixed(Fixed, 4 * Page);
        Assert.Equal(0, _mm.HandleFault(Fixed + Page, false));

        Assert.Equal(0, _mm.Mprotect(Fixed + Page, 2 * Page, Mman.PROT_READ));

        Assert.Contains((Fixed + Page, 2 * Page), _as.Unmaps);
    }

    [Fact]
    public void Mprotect_Part_SplitsAndNextFaultMapsWithNewProt()
    {
        MapFixed(Fixed, 4 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + Page, "keep"u8));

        Assert.Equal(0, _mm.Mprotect(Fixed + Page, Page, Mman.PROT_READ));
        _as.Maps.Clear();
        Assert.Equal(0, _mm.HandleFault(Fixed + Page, false));
        Assert.Equal(0, _mm.HandleFault(Fixed + 3 * Page, false));

        // The read-only page is mapped alone, read-only; the rest keeps read-write.
        Assert.Equal((Fixed + Page, Page, Mman.PROT_READ), (_as.Maps[0].Addr, _as.Maps[0].Length, _as.Maps[0].Prot));
        Assert.Equal((Fixed + 2 * Page, 2 * Page, RW), (_as.Maps[1].Addr, _as.Maps[1].Length, _as.Maps[1].Prot));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyOut(Fixed + Page, "x"u8));
        Assert.Equal(0, _mm.CopyOut(Fixed, "x"u8));
        Assert.Equal("keep"u8.ToArray(), Read(Fixed + Page, 4));
        Assert.Equal(4 * Page, _mm.MappedBytes);
    }

    [Fact]
    public void Mprotect_UnknownProtBits_ReturnsEINVAL()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EINVAL), _mm.Mprotect(Fixed, Page, Mman.PROT_READ | 0x10));
        Assert.Equal(Err(Errno.EINVAL), _mm.Mprotect(Fixed, Page, Mman.PROT_READ | Mman.PROT_GROWSDOWN | Mman.PROT_GROWSUP));
    }

    [Fact]
    public void Mprotect_ProtSem_AcceptedAsOnLinux()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(0, _mm.Mprotect(Fixed, Page, Mman.PROT_READ | 0x8));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyOut(Fixed, "x"u8));
    }

    [Fact]
    public void Mprotect_LengthWrapping_ReturnsENOMEM()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.ENOMEM), _mm.Mprotect(Fixed, ulong.MaxValue, Mman.PROT_READ));
    }

    [Fact]
    public void Mprotect_ZeroLength_Succeeds()
    {
        Assert.Equal(0, _mm.Mprotect(Fixed, 0, Mman.PROT_READ));
    }

    // ---- brk ----

    [Fact]
    public void Brk_BelowStart_ReturnsCurrentBreak()
    {
        Assert.Equal(0x1000_0000UL, _mm.Brk(0));
        Assert.Equal(0x1000_0000UL, _mm.Brk(0x0fff_f000));
    }

    [Fact]
    public void Brk_Grow_MapsWritableHeap()
    {
        ulong start = _mm.Brk(0);

        ulong r = _mm.Brk(start + 0x1800);

        Assert.Equal(start + 0x1800, r);
        Assert.Equal(2 * Page, _mm.MappedBytes);
        Assert.Equal(0, _mm.CopyOut(start + 0x1000, "heap"u8));
        Assert.Equal("heap"u8.ToArray(), Read(start + 0x1000, 4));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(start + 0x2000, new byte[1]));
    }

    [Fact]
    public void Brk_GrowTwice_ExtendsOneHeap()
    {
        ulong start = _mm.Brk(0);
        _mm.Brk(start + Page);

        Assert.Equal(start + 3 * Page, _mm.Brk(start + 3 * Page));

        Assert.Equal(3 * Page, _mm.MappedBytes);
        _as.Maps.Clear();
        Assert.Equal(0, _mm.HandleFault(start, false));
        Assert.Equal((start, 3 * Page), (_as.Maps[0].Addr, _as.Maps[0].Length));
    }

    [Fact]
    public void Brk_Shrink_UnmapsAndLaterGrowReadsZeros()
    {
        ulong start = _mm.Brk(0);
        _mm.Brk(start + 3 * Page);
        Assert.Equal(0, _mm.CopyOut(start + 2 * Page, "gone"u8));

        Assert.Equal(start + 0x100, _mm.Brk(start + 0x100));
        Assert.Equal(Page, _mm.MappedBytes);
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(start + 2 * Page, new byte[1]));

        Assert.Equal(start + 3 * Page, _mm.Brk(start + 3 * Page));
        Assert.Equal(new byte[4], Read(start + 2 * Page, 4));
    }

    [Fact]
    public void Brk_IntoExistingMapping_ReturnsOldBreak()
    {
        ulong start = _mm.Brk(0);
        _mm.Brk(start + Page);
        MapFixed(start + 4 * Page, Page);

        ulong r = _mm.Brk(start + 8 * Page);

        Assert.Equal(start + Page, r);
        Assert.Equal(2 * Page, _mm.MappedBytes);
        Assert.Equal(start + Page, _mm.Brk(0));
    }

    [Fact]
    public void Brk_OverAddressSpaceLimit_ReturnsOldBreak()
    {
        _mm.AddressSpaceLimit = 2 * Page;
        ulong start = _mm.Brk(0);

        Assert.Equal(start, _mm.Brk(start + 3 * Page));
        Assert.Equal(start + 2 * Page, _mm.Brk(start + 2 * Page));
    }

    [Fact]
    public void Brk_GrowAfterHeapTopMadeReadOnly_NewMemoryIsWritable()
    {
        ulong start = _mm.Brk(0);
        _mm.Brk(start + Page);
        Assert.Equal(0, _mm.Mprotect(start, Page, Mman.PROT_READ));

        Assert.Equal(start + 2 * Page, _mm.Brk(start + 2 * Page));

        Assert.Equal(0, _mm.CopyOut(start + Page, "new heap"u8));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyOut(start, "old"u8));
    }

    [Fact]
    public void Brk_BeyondMaxAddress_ReturnsOldBreak()
    {
        ulong start = _mm.Brk(0);

        Assert.Equal(start, _mm.Brk(MaxAddr + Page));
        Assert.Equal(start, _mm.Brk(ulong.MaxValue - 1));
    }

    // ---- faults ----

    [Fact]
    public void HandleFault_Unmapped_ReturnsMapErr()
    {
        Assert.Equal(SigInfo.SEGV_MAPERR, _mm.HandleFault(Fixed, false));
        Assert.Empty(_as.Maps);
    }

    [Fact]
    public void HandleFault_Mapped_MapsFileWithVmaProt()
    {
        MapFixed(Fixed, 3 * Page, Mman.PROT_READ | Mman.PROT_EXEC);

        int r = _mm.HandleFault(Fixed + Page + 123, false);

        Assert.Equal(0, r);
        (ulong addr, ulong length, long off, int prot) = Assert.Single(_as.Maps);
        Assert.True(addr <= Fixed + Page && Fixed + Page + 123 < addr + length);
        Assert.Equal(Mman.PROT_READ | Mman.PROT_EXEC, prot);
        Assert.Equal((Fixed, 3 * Page), (addr, length));
        Assert.True(off >= 0 && (off & (long)(Page - 1)) == 0);
        Assert.Equal(3 * Page, _mf.AllocatedBytes);
    }

    [Fact]
    public void HandleFault_HostSaysAccessError_ReturnsAccErr()
    {
        MapFixed(Fixed, Page, Mman.PROT_READ);

        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault(Fixed, true));
    }

    [Fact]
    public void HandleFault_ProtNone_ReturnsAccErrWithoutAllocating()
    {
        MapFixed(Fixed, Page, Mman.PROT_NONE);

        Assert.Equal(SigInfo.SEGV_ACCERR, _mm.HandleFault(Fixed, false));
        Assert.Empty(_as.Maps);
        Assert.Equal(0UL, _mf.AllocatedBytes);
    }

    [Fact]
    public void HandleFault_LargeVma_FaultsAroundWithinAllocUnit()
    {
        MapFixed(Fixed, 8 * Huge);
        ulong fault = Fixed + 3 * Huge + 5 * Page;

        Assert.Equal(0, _mm.HandleFault(fault, false));

        (ulong addr, ulong length, _, int prot) = Assert.Single(_as.Maps);
        Assert.True(length > Page);
        Assert.True(addr <= fault && fault < addr + length);
        Assert.True(addr >= Fixed && addr + length <= Fixed + 8 * Huge);
        Assert.True(length <= MemoryManager.PrivateAllocUnit);
        Assert.Equal(RW, prot);
    }

    [Fact]
    public void HandleFault_NearVmaEnd_NeverMapsBeyondVma()
    {
        // 3 MiB at a 2 MiB-aligned address: the second alloc unit is cut short by the VMA end.
        MapFixed(Fixed, Huge + Huge / 2);
        MapFixed(Fixed + Huge + Huge / 2, Page, Mman.PROT_READ); // a neighbour right after it

        Assert.Equal(0, _mm.HandleFault(Fixed + Huge + Huge / 2 - Page, false));

        (ulong addr, ulong length, _, _) = Assert.Single(_as.Maps);
        Assert.Equal(Fixed + Huge, addr);
        Assert.Equal(Huge / 2, length);
    }

    [Fact]
    public void HandleFault_VmaStartingMidUnit_NeverMapsBeforeVma()
    {
        ulong start = Fixed + 5 * Page;
        MapFixed(Fixed, 5 * Page, Mman.PROT_READ);
        MapFixed(start, 10 * Page);

        Assert.Equal(0, _mm.HandleFault(start + 7 * Page, false));

        (ulong addr, ulong length, _, _) = Assert.Single(_as.Maps);
        Assert.Equal(start, addr);
        Assert.Equal(10 * Page, length);
    }

    [Fact]
    public void HandleFault_PmaSpanningTwoVmas_MapsOnlyFaultingVma()
    {
        MapFixed(Fixed, 8 * Page);
        Assert.Equal(0, _mm.HandleFault(Fixed, false)); // one PMA for all 8 pages
        Assert.Equal(0, _mm.Mprotect(Fixed + 4 * Page, 4 * Page, Mman.PROT_READ));
        _as.Maps.Clear();

        Assert.Equal(0, _mm.HandleFault(Fixed + 6 * Page, false));
        Assert.Equal(0, _mm.HandleFault(Fixed + Page, false));

        Assert.Equal((Fixed + 4 * Page, 4 * Page, Mman.PROT_READ), (_as.Maps[0].Addr, _as.Maps[0].Length, _as.Maps[0].Prot));
        Assert.Equal((Fixed, 4 * Page, RW), (_as.Maps[1].Addr, _as.Maps[1].Length, _as.Maps[1].Prot));
        Assert.Equal(_as.Maps[1].FileOffset + (long)(4 * Page), _as.Maps[0].FileOffset);
        Assert.Equal(8 * Page, _mf.AllocatedBytes);
    }

    [Fact]
    public void HandleFault_SameAddressTwice_ReusesMemory()
    {
        MapFixed(Fixed, 4 * Page);

        Assert.Equal(0, _mm.HandleFault(Fixed, false));
        Assert.Equal(0, _mm.HandleFault(Fixed + 2 * Page, false));

        Assert.Equal(2, _as.Maps.Count);
        Assert.Equal(_as.Maps[0], _as.Maps[1]);
        Assert.Equal(4 * Page, _mf.AllocatedBytes);
    }

    [Fact]
    public void HandleFault_PlatformMapFails_ReturnsSigbus()
    {
        MapFixed(Fixed, Page);
        _as.MapResult = Err(Errno.ENOMEM);

        Assert.Equal(-Signal.SIGBUS, _mm.HandleFault(Fixed, false));
    }

    [Fact]
    public void HandleFault_SeesDataWrittenByCopyOut()
    {
        MapFixed(Fixed, 2 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + Page + 10, "seen"u8));

        Assert.Equal(0, _mm.HandleFault(Fixed + Page, false));

        (ulong addr, _, long off, _) = Assert.Single(_as.Maps);
        long fileOffsetOfData = off + (long)(Fixed + Page + 10 - addr);
        Assert.Equal("seen"u8.ToArray(), _mf.SpanAt(fileOffsetOfData, 4).ToArray());
    }

    // ---- copies ----

    [Fact]
    public void CopyOutCopyIn_AcrossPmaBoundary_RoundTrips()
    {
        MapFixed(Fixed, 2 * Huge);

        // Touch the upper alloc unit first so the two PMAs are not in address order in the file.
        Assert.Equal(0, _mm.HandleFault(Fixed + Huge, false));
        Assert.Equal(0, _mm.HandleFault(Fixed, false));
        Assert.NotEqual(_as.Maps[0].FileOffset, _as.Maps[1].FileOffset + (long)Huge);

        byte[] data = Enumerable.Range(1, 64).Select(i => (byte)i).ToArray();
        ulong at = Fixed + Huge - 20;
        Assert.Equal(0, _mm.CopyOut(at, data));

        Assert.Equal(data, Read(at, data.Length));
        Assert.Equal(data.AsSpan(0, 20).ToArray(), _mf.SpanAt(_as.Maps[1].FileOffset + (long)(Huge - 20), 20).ToArray());
        Assert.Equal(data.AsSpan(20).ToArray(), _mf.SpanAt(_as.Maps[0].FileOffset, 44).ToArray());
    }

    [Fact]
    public void CopyOutCopyIn_AcrossAdjacentVmas_RoundTrips()
    {
        MapFixed(Fixed, Page);
        MapFixed(Fixed + Page, Page);
        byte[] data = Encoding.ASCII.GetBytes("spanning two mappings");

        Assert.Equal(0, _mm.CopyOut(Fixed + Page - 5, data));

        Assert.Equal(data, Read(Fixed + Page - 5, data.Length));
    }

    [Fact]
    public void CopyIn_Unmapped_ReturnsEFAULT()
    {
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(Fixed, new byte[8]));
    }

    [Fact]
    public void CopyIn_RunningOffEndOfMapping_ReturnsEFAULT()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(Fixed + Page - 4, new byte[8]));
    }

    [Fact]
    public void CopyIn_AddressWraps_ReturnsEFAULT()
    {
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(ulong.MaxValue - 2, new byte[8]));
    }

    [Fact]
    public void CopyIn_FreshMemory_ReadsZeros()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(new byte[32], Read(Fixed + 100, 32));
    }

    [Fact]
    public void CopyOut_ReadOnlyVma_ReturnsEFAULT()
    {
        MapFixed(Fixed, Page, Mman.PROT_READ);

        Assert.Equal(Err(Errno.EFAULT), _mm.CopyOut(Fixed, "nope"u8));
        Assert.Equal(new byte[4], Read(Fixed, 4));
    }

    [Fact]
    public void CopyOut_ReadOnlyVmaWithForce_Succeeds()
    {
        MapFixed(Fixed, Page, Mman.PROT_READ);

        Assert.Equal(0, _mm.CopyOut(Fixed, "forced"u8, AccessType.Force));

        Assert.Equal("forced"u8.ToArray(), Read(Fixed, 6));
    }

    [Fact]
    public void CopyOut_ProtNoneWithForce_Succeeds()
    {
        MapFixed(Fixed, Page, Mman.PROT_NONE);

        Assert.Equal(0, _mm.CopyOut(Fixed, "x"u8, AccessType.Force));
        Assert.Equal(Err(Errno.EFAULT), _mm.CopyIn(Fixed, new byte[1]));
    }

    [Fact]
    public void CopyInCopyOut_Struct_RoundTrips()
    {
        MapFixed(Fixed, Page);
        var ts = new Timespec { tv_sec = 1234567890, tv_nsec = 987654321 };

        Assert.Equal(0, _mm.CopyOut(Fixed + 8, in ts));
        Assert.Equal(0, _mm.CopyIn(Fixed + 8, out Timespec back));

        Assert.Equal(ts.tv_sec, back.tv_sec);
        Assert.Equal(ts.tv_nsec, back.tv_nsec);
    }

    [Fact]
    public void CopyInString_NulTerminated_ReturnsString()
    {
        MapFixed(Fixed, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "hello\0world"u8));

        Assert.Equal(0, _mm.CopyInString(Fixed, 255, out string s));

        Assert.Equal("hello", s);
    }

    [Fact]
    public void CopyInString_ExactlyMaxLength_Succeeds()
    {
        MapFixed(Fixed, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "abcde\0"u8));

        Assert.Equal(0, _mm.CopyInString(Fixed, 5, out string s));

        Assert.Equal("abcde", s);
    }

    [Fact]
    public void CopyInString_TooLong_ReturnsENAMETOOLONG()
    {
        MapFixed(Fixed, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "abcdef\0"u8));

        Assert.Equal(Err(Errno.ENAMETOOLONG), _mm.CopyInString(Fixed, 5, out _));
    }

    [Fact]
    public void CopyInString_EndsAtLastByteBeforeUnmappedPage_Succeeds()
    {
        MapFixed(Fixed, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + Page - 4, "abc\0"u8));

        Assert.Equal(0, _mm.CopyInString(Fixed + Page - 4, 4096, out string s));

        Assert.Equal("abc", s);
    }

    [Fact]
    public void CopyInString_CrossesIntoUnmappedPage_ReturnsEFAULT()
    {
        MapFixed(Fixed, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + Page - 3, "abc"u8));

        Assert.Equal(Err(Errno.EFAULT), _mm.CopyInString(Fixed + Page - 3, 4096, out _));
    }

    [Fact]
    public void CopyInString_AcrossPages_JoinsChunks()
    {
        MapFixed(Fixed, 2 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + Page - 3, "abcdef\0"u8));

        Assert.Equal(0, _mm.CopyInString(Fixed + Page - 3, 4096, out string s));

        Assert.Equal("abcdef", s);
    }

    [Fact]
    public void CopyInString_LongerThanStackBuffer_Works()
    {
        MapFixed(Fixed, 4 * Page);
        byte[] text = Enumerable.Repeat((byte)'q', 5000).Append((byte)0).ToArray();
        Assert.Equal(0, _mm.CopyOut(Fixed, text));

        Assert.Equal(0, _mm.CopyInString(Fixed, 8192, out string s));
        Assert.Equal(Err(Errno.ENAMETOOLONG), _mm.CopyInString(Fixed, 4999, out _));

        Assert.Equal(5000, s.Length);
    }

    // ---- madvise ----

    [Fact]
    public void Madvise_DontNeed_ReadsBackZerosAndFreesMemory()
    {
        MapFixed(Fixed, 2 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed + 16, "secret"u8));
        Assert.True(_mf.AllocatedBytes > 0);

        Assert.Equal(0, _mm.Madvise(Fixed, 2 * Page, dontNeed: true));

        Assert.Equal(0UL, _mf.AllocatedBytes);
        Assert.True(_as.UnmapCovers(Fixed, 2 * Page));
        Assert.Equal(new byte[6], Read(Fixed + 16, 6));
        Assert.Equal(2 * Page, _mm.MappedBytes);
    }

    [Fact]
    public void Madvise_DontNeedPart_KeepsTheRest()
    {
        MapFixed(Fixed, 2 * Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "first"u8));
        Assert.Equal(0, _mm.CopyOut(Fixed + Page, "second"u8));

        Assert.Equal(0, _mm.Madvise(Fixed + Page, Page, dontNeed: true));

        Assert.Equal("first"u8.ToArray(), Read(Fixed, 5));
        Assert.Equal(new byte[6], Read(Fixed + Page, 6));
    }

    [Fact]
    public void Madvise_WithoutDontNeed_KeepsData()
    {
        MapFixed(Fixed, Page);
        Assert.Equal(0, _mm.CopyOut(Fixed, "data"u8));

        Assert.Equal(0, _mm.Madvise(Fixed, Page, dontNeed: false));

        Assert.Equal("data"u8.ToArray(), Read(Fixed, 4));
    }

    [Fact]
    public void Madvise_OverHole_ReturnsENOMEM()
    {
        MapFixed(Fixed, Page);
        MapFixed(Fixed + 2 * Page, Page);

        Assert.Equal(Err(Errno.ENOMEM), _mm.Madvise(Fixed, 3 * Page, dontNeed: true));
        Assert.Equal(Err(Errno.ENOMEM), _mm.Madvise(Fixed + 3 * Page, Page, dontNeed: false));
    }

    [Fact]
    public void Madvise_ZeroLength_Succeeds()
    {
        Assert.Equal(0, _mm.Madvise(Fixed, 0, dontNeed: true));
    }

    [Fact]
    public void Madvise_LengthRoundingToZero_ReturnsEINVAL()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EINVAL), _mm.Madvise(Fixed, ulong.MaxValue, dontNeed: true));
    }

    [Fact]
    public void Madvise_UnalignedAddress_ReturnsEINVAL()
    {
        MapFixed(Fixed, Page);

        Assert.Equal(Err(Errno.EINVAL), _mm.Madvise(Fixed + 1, Page, dontNeed: true));
    }

    // ---- accounting and teardown ----

    [Fact]
    public void MappedBytes_TracksMmapMunmapAndBrk()
    {
        Assert.Equal(0UL, _mm.MappedBytes);
        long a = _mm.MmapAnonymous(0, 5 * Page, RW, Private);
        MapFixed(Fixed, 2 * Page);
        Assert.Equal(7 * Page, _mm.MappedBytes);

        ulong start = _mm.Brk(0);
        _mm.Brk(start + 3 * Page);
        Assert.Equal(10 * Page, _mm.MappedBytes);

        Assert.Equal(0, _mm.Munmap((ulong)a + Page, 2 * Page));
        Assert.Equal(8 * Page, _mm.MappedBytes);

        // Unmapping a range that also covers a hole counts only what was mapped.
        Assert.Equal(0, _mm.Munmap(Fixed - 4 * Page, 16 * Page));
        Assert.Equal(6 * Page, _mm.MappedBytes);
    }

    [Fact]
    public void Dispose_FreesAllMemoryAndDisposesAddressSpace()
    {
        using var mf = new MemoryFile();
        var fake = new FakeAddressSpace();
        var mm = new MemoryManager(mf, fake, MinAddr, MaxAddr);
        Assert.Equal((long)Fixed, mm.MmapAnonymous(Fixed, 3 * Huge, RW, PrivateFixed));
        Assert.Equal(0, mm.CopyOut(Fixed, "a"u8));
        Assert.Equal(0, mm.CopyOut(Fixed + 2 * Huge, "b"u8));
        Assert.Equal(2 * Huge, mf.AllocatedBytes);

        mm.Dispose();

        Assert.Equal(0UL, mf.AllocatedBytes);
        Assert.True(fake.Disposed);
    }

    [Fact]
    public void DecUsers_SharedByTwoProcesses_ReleasedOnlyWhenTheLastLeaves()
    {
        using var mf = new MemoryFile();
        var fake = new FakeAddressSpace();
        var mm = new MemoryManager(mf, fake, MinAddr, MaxAddr);
        mm.IncUsers(); // a CLONE_VM child
        Assert.Equal(2, mm.Users);

        mm.DecUsers(); // the parent exits first
        Assert.False(mm.Released);
        Assert.False(fake.Disposed);

        mm.DecUsers();
        Assert.True(mm.Released);
        Assert.True(fake.Disposed);
        mm.WaitUntilReleased(); // returns at once
    }

    [Fact]
    public void PageUpPageDown_RoundToPageBoundaries()
    {
        Assert.Equal(0x1000UL, MemoryManager.PageUp(1));
        Assert.Equal(0x1000UL, MemoryManager.PageUp(0x1000));
        Assert.Equal(0UL, MemoryManager.PageUp(0));
        Assert.Equal(0x1000UL, MemoryManager.PageDown(0x1FFF));
        Assert.Equal(0UL, MemoryManager.PageUp(ulong.MaxValue));
    }
}
