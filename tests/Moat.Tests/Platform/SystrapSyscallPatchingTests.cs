using System;
using System.Buffers.Binary;
using System.IO;
using System.Text.RegularExpressions;
using Moat.Platform.Systrap;

namespace Moat.Tests.Platform;

/// <summary>
/// The trap-table entry of systrap's syscall-site patching, decoded by hand: where each instruction leads, and
/// that stub.S reads the entry at the offsets written here.
/// </summary>
public sealed class SystrapSyscallPatchingTests
{
    private const ulong Entry = 0x60040;
    private const ulong Return = 0x40_1007;

    private static byte[] Build(uint nr)
    {
        byte[] e = new byte[64];
        SystrapSyscallPatching.Instance.BuildEntry(e, Entry, Return, nr);
        return e;
    }

    // The target of `ff 25 disp32` (jmp [rip + disp32]) at offset at: the 8 bytes at the next instruction + disp.
    private static ulong IndirectTarget(byte[] e, int at)
    {
        Assert.Equal(0xFF, e[at]);
        Assert.Equal(0x25, e[at + 1]);
        int slot = at + 6 + BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(at + 2));
        return BinaryPrimitives.ReadUInt64LittleEndian(e.AsSpan(slot));
    }

    [Fact]
    public void Table_LiesWhereEveryPatchHasAnInvalidOpcodeAtByteFive()
    {
        var p = SystrapSyscallPatching.Instance;
        for (ulong a = p.TableStart; a < p.TableEnd; a += (ulong)p.EntrySize)
        {
            Assert.Equal(0x06UL, (a >> 16) & 0xFF); // third byte of the 32-bit address, the patch's byte 5
            Assert.True(a + (ulong)p.EntrySize <= 0x8000_0000);
        }
    }

    [Fact]
    public void Entry_PatchedJumpLandsOnCodeThatReachesTheStub()
    {
        byte[] e = Build(39);
        Assert.Equal(Entry + 16, BinaryPrimitives.ReadUInt64LittleEndian(e));
        Assert.Equal(Return, BinaryPrimitives.ReadUInt64LittleEndian(e.AsSpan(8)));

        // lea r11, [rip + disp32] at +16: r11 = the entry itself.
        Assert.Equal(new byte[] { 0x4C, 0x8D, 0x1D }, e[16..19]);
        Assert.Equal(Entry, (ulong)((long)Entry + 23 + BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(19))));
        Assert.Equal(SystrapStubImage.Address(SystrapStubCode.Patched), IndirectTarget(e, 23));
    }

    [Fact]
    public void Entry_FallbackMakesTheOriginalCallAndReturns()
    {
        byte[] e = Build(0x101);
        Assert.Equal(new byte[] { 0xB8, 0x01, 0x01, 0x00, 0x00, 0x0F, 0x05 }, e[29..36]);
        Assert.Equal(Return, IndirectTarget(e, 36));
        Assert.Equal(SystrapSyscallPatching.FallbackOffset, 29);
    }

    [Fact]
    public void StubSource_ReadsTheEntryAtTheseOffsets()
    {
        string? src = null;
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d != null && src == null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "src", "Moat.Platform", "Systrap", "stub.S");
            src = File.Exists(p) ? p : null;
        }

        if (src == null)
        {
            return; // the check needs the sources
        }

        string text = File.ReadAllText(src);
        Assert.Matches(new Regex(@"\.set E_RET, 8\b"), text);
        Assert.Matches(new Regex(@"\.set E_FALLBACK, 29\b"), text);
        Assert.Matches(new Regex(@"\.set E_NR, 30\b"), text);
    }
}
