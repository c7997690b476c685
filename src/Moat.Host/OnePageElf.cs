using System;
using System.Buffers.Binary;

namespace Moat.Host;

/// <summary>
/// The headers of the one-page static ELF executables Moat writes for itself (the stubs, the namespace
/// launcher): one PT_LOAD segment, read and execute, mapping the whole page at <c>base</c>.
/// </summary>
public static class OnePageElf
{
    public const int PageSize = 4096;

    /// <summary>Writes the ELF and program headers into the first 120 bytes of <paramref name="image"/>.</summary>
    public static void WriteHeaders(Span<byte> image, ulong baseAddress, ulong entry)
    {
        Span<byte> h = image;
        h[0] = 0x7F;
        h[1] = (byte)'E';
        h[2] = (byte)'L';
        h[3] = (byte)'F';
        h[4] = 2; // ELFCLASS64
        h[5] = 1; // ELFDATA2LSB
        h[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 62); // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], entry); // e_entry
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], 64); // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64); // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[54..], 56); // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[56..], 1); // e_phnum

        Span<byte> p = h[64..];
        BinaryPrimitives.WriteUInt32LittleEndian(p, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 5); // PF_R | PF_X
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], 0); // p_offset
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], baseAddress); // p_vaddr
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], baseAddress); // p_paddr
        BinaryPrimitives.WriteUInt64LittleEndian(p[32..], PageSize); // p_filesz
        BinaryPrimitives.WriteUInt64LittleEndian(p[40..], PageSize); // p_memsz
        BinaryPrimitives.WriteUInt64LittleEndian(p[48..], PageSize); // p_align
    }
}
