using System;
using System.Buffers.Binary;

namespace Moat.Platform.Systrap;

/// <summary>
/// Syscall-site patching on systrap (docs/systrap-platform.md, "Syscall-site patching"): the trap-table entry a
/// patched site jumps through. It loads its own address into r11 and jumps to <c>patched</c> in the stub page,
/// which hands the call to the Sentry through the thread's sysmsg region; behind that, the entry keeps the
/// original call as a fallback (taken when the thread's %gs is not its region), trapped like any app syscall.
/// </summary>
internal sealed class SystrapSyscallPatching : ISyscallPatching
{
    /// <summary>Whether the Sentry patches syscall sites: only with MOAT_SYSTRAP_PATCH=1 for now.</summary>
    internal static readonly bool Enabled = Environment.GetEnvironmentVariable("MOAT_SYSTRAP_PATCH") == "1";

    internal static readonly SystrapSyscallPatching Instance = new();

    // Entry layout (stub.S's E_* constants must agree).
    private const int Size = 64;
    private const int ReturnOffset = 8;
    private const int CodeOffset = 16;
    private const int JumpOffset = 23;
    internal const int FallbackOffset = 29;
    private const int FallbackJumpOffset = 36;
    private const int StubEntryOffset = 48;

    // 0x60000-0x70000: the third byte of every entry's address is 0x06, an invalid opcode, and it lands where the
    // original syscall's first byte was (the patch is written in steps around that byte).
    public ulong TableStart => 0x60000;

    public ulong TableEnd => 0x70000;

    public int EntrySize => Size;

    public void BuildEntry(Span<byte> entry, ulong entryAddress, ulong returnAddress, uint nr)
    {
        Span<byte> e = entry[..Size];
        e.Fill(0xCC); // int3 between the pieces
        BinaryPrimitives.WriteUInt64LittleEndian(e, entryAddress + CodeOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(e[ReturnOffset..], returnAddress);

        // lea r11, [rip - 23]: r11 = this entry, the stub finds the return address and the number through it.
        e[CodeOffset] = 0x4C;
        e[CodeOffset + 1] = 0x8D;
        e[CodeOffset + 2] = 0x1D;
        BinaryPrimitives.WriteInt32LittleEndian(e[(CodeOffset + 3)..], -JumpOffset);

        // jmp [rip + disp]: to the stub's entry, stored at StubEntryOffset.
        e[JumpOffset] = 0xFF;
        e[JumpOffset + 1] = 0x25;
        BinaryPrimitives.WriteInt32LittleEndian(e[(JumpOffset + 2)..], StubEntryOffset - FallbackOffset);

        // The fallback: mov $nr,%eax; syscall; jmp [rip + disp] to the return address.
        e[FallbackOffset] = 0xB8;
        BinaryPrimitives.WriteUInt32LittleEndian(e[(FallbackOffset + 1)..], nr);
        e[FallbackOffset + 5] = 0x0F;
        e[FallbackOffset + 6] = 0x05;
        e[FallbackJumpOffset] = 0xFF;
        e[FallbackJumpOffset + 1] = 0x25;
        BinaryPrimitives.WriteInt32LittleEndian(e[(FallbackJumpOffset + 2)..], ReturnOffset - (FallbackJumpOffset + 6));

        BinaryPrimitives.WriteUInt64LittleEndian(e[StubEntryOffset..], SystrapStubImage.Address(SystrapStubCode.Patched));
    }
}
