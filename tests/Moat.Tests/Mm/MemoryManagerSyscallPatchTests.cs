using System;
using System.Buffers.Binary;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;

namespace Moat.Tests.Mm;

/// <summary>
/// Syscall-site patching's memory side (docs/systrap-platform.md, "Syscall-site patching"): which sites are
/// rewritten, into what, and what a fork and a SIGILL see.
/// </summary>
public sealed class MemoryManagerSyscallPatchTests : IDisposable
{
    private const ulong Code = 0x40_0000;
    private const ulong TableStart = 0x60000;
    private const ulong TableEnd = 0x70000;
    private const int RX = Mman.PROT_READ | Mman.PROT_EXEC;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;

    private static readonly byte[] GetpidSite = [0xB8, 39, 0, 0, 0, 0x0F, 0x05];

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;
    private readonly FakePatching _platform = new();

    public MemoryManagerSyscallPatchTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000) { MmapBase = 0x7e00_0000_0000 };
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    private sealed class FakePatching : ISyscallPatching
    {
        public ulong TableStart => MemoryManagerSyscallPatchTests.TableStart;

        public ulong TableEnd => MemoryManagerSyscallPatchTests.TableEnd;

        public int EntrySize => 64;

        public void BuildEntry(Span<byte> entry, ulong entryAddress, ulong returnAddress, uint nr)
        {
            entry[..64].Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(entry, entryAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], returnAddress);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], nr);
        }
    }

    // Maps one page at Code with the site at offset 0x100 and protection prot.
    private ulong MapSite(int prot, int flags = Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, byte[]? bytes = null)
    {
        Assert.Equal((long)Code, _mm.MmapAnonymous(Code, Mman.PageSize, prot, flags | Mman.MAP_FIXED));
        Assert.Equal(0, _mm.CopyOut(Code + 0x100, bytes ?? GetpidSite, AccessType.Force));
        return Code + 0x100;
    }

    private byte[] Read(ulong addr, int length)
    {
        byte[] b = new byte[length];
        Assert.Equal(0, _mm.CopyIn(addr, b));
        return b;
    }

    [Fact]
    public void TryPatch_ExactSiteInPrivateCode_BecomesJumpThroughFirstEntry()
    {
        ulong site = MapSite(RX);
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);

        Assert.Equal(new byte[] { 0xFF, 0x24, 0x25, 0x00, 0x00, 0x06, 0x00 }, Read(site, 7));
        Assert.Contains(_mm.SnapshotVmas(), v => v.Start == TableStart && v.End == TableEnd && v.Name == MemoryManager.SyscallTableName && v.Prot == RX && !v.Shared);
        byte[] entry = Read(TableStart, 24);
        Assert.Equal(TableStart, BinaryPrimitives.ReadUInt64LittleEndian(entry));
        Assert.Equal(site + 7, BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(8)));
        Assert.Equal(39u, BinaryPrimitives.ReadUInt32LittleEndian(entry.AsSpan(16)));
    }

    [Fact]
    public void TryPatch_SecondSite_TakesTheNextEntry()
    {
        ulong site = MapSite(RX);
        Assert.Equal(0, _mm.CopyOut(site + 0x40, GetpidSite, AccessType.Force));
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        _mm.TryPatchSyscallSite(_platform, site + 0x47, 39);
        Assert.Equal(new byte[] { 0xFF, 0x24, 0x25, 0x40, 0x00, 0x06, 0x00 }, Read(site + 0x40, 7));
    }

    [Theory]
    [InlineData(40)] // the number that trapped is not the mov's
    public void TryPatch_OtherNumber_LeavesSite(ulong nr)
    {
        ulong site = MapSite(RX);
        _mm.TryPatchSyscallSite(_platform, site + 7, nr);
        Assert.Equal(GetpidSite, Read(site, 7));
    }

    [Fact]
    public void TryPatch_OtherInstructions_LeavesSite()
    {
        byte[] movRax = [0x48, 0xC7, 0xC0, 39, 0, 0, 0, 0x0F, 0x05]; // mov $39,%rax; syscall
        ulong site = MapSite(RX, bytes: movRax);
        _mm.TryPatchSyscallSite(_platform, site + 9, 39);
        Assert.Equal(movRax, Read(site, 9));
        Assert.DoesNotContain(_mm.SnapshotVmas(), v => v.Name == MemoryManager.SyscallTableName);
    }

    [Fact]
    public void TryPatch_WritableCode_LeavesSite()
    {
        ulong site = MapSite(RW | Mman.PROT_EXEC); // a JIT's buffer
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        Assert.Equal(GetpidSite, Read(site, 7));
    }

    [Fact]
    public void TryPatch_SharedCode_LeavesSite()
    {
        ulong site = MapSite(RX, Mman.MAP_SHARED | Mman.MAP_ANONYMOUS);
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        Assert.Equal(GetpidSite, Read(site, 7));
    }

    [Fact]
    public void TryPatch_NotExecutable_LeavesSite()
    {
        ulong site = MapSite(Mman.PROT_READ);
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        Assert.Equal(GetpidSite, Read(site, 7));
    }

    [Fact]
    public void TryPatch_AppOwnsTableAddress_NeverPatches()
    {
        Assert.Equal((long)TableStart, _mm.MmapAnonymous(TableStart, Mman.PageSize, RW, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED));
        ulong site = MapSite(RX);
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        Assert.Equal(GetpidSite, Read(site, 7));
        Assert.Equal(new byte[8], Read(TableStart, 8)); // the app's page untouched
    }

    [Fact]
    public void TryPatch_TableReplacedByApp_StopsPatching()
    {
        ulong site = MapSite(RX);
        Assert.Equal(0, _mm.CopyOut(site + 0x40, GetpidSite, AccessType.Force));
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        Assert.Equal((long)TableStart, _mm.MmapAnonymous(TableStart, TableEnd - TableStart, RW, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED));
        _mm.TryPatchSyscallSite(_platform, site + 0x47, 39);
        Assert.Equal(GetpidSite, Read(site + 0x40, 7));
        Assert.Equal(new byte[8], Read(TableStart + 64, 8)); // nothing written into the app's memory
    }

    [Fact]
    public void IsPatchedSiteFault_ByteFiveOfPatchedSite_IsOurs()
    {
        ulong site = MapSite(RX);
        Assert.False(_mm.IsPatchedSiteFault(_platform, site + 5, out _));
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        Assert.True(_mm.IsPatchedSiteFault(_platform, site + 5, out ulong found));
        Assert.Equal(site, found);
        Assert.False(_mm.IsPatchedSiteFault(_platform, site + 4, out _));
    }

    [Fact]
    public void IsPatchedSiteFault_JumpToUnusedEntry_IsTheApps()
    {
        ulong site = MapSite(RX);
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        byte[] forged = [0xFF, 0x24, 0x25, 0x80, 0x00, 0x06, 0x00]; // entry 2: never handed out
        Assert.Equal(0, _mm.CopyOut(site + 0x80, forged, AccessType.Force));
        Assert.False(_mm.IsPatchedSiteFault(_platform, site + 0x85, out _));
    }

    [Fact]
    public void Fork_ChildHasPatchedSiteAndTable_AndPatchesOnItsOwn()
    {
        ulong site = MapSite(RX);
        Assert.Equal(0, _mm.CopyOut(site + 0x40, GetpidSite, AccessType.Force));
        _mm.TryPatchSyscallSite(_platform, site + 7, 39);
        using MemoryManager child = _mm.Fork();
        child.AttachAddressSpace(new FakeAddressSpace());

        Assert.True(child.IsPatchedSiteFault(_platform, site + 5, out _));
        child.TryPatchSyscallSite(_platform, site + 0x47, 39);
        byte[] patched = new byte[7];
        Assert.Equal(0, child.CopyIn(site + 0x40, patched));
        Assert.Equal(new byte[] { 0xFF, 0x24, 0x25, 0x40, 0x00, 0x06, 0x00 }, patched);
        Assert.Equal(GetpidSite, Read(site + 0x40, 7)); // the parent's copy untouched
    }
}
