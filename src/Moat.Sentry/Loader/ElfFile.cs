using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Loader;

/// <summary>One ELF program header.</summary>
internal readonly record struct ElfProgramHeader(uint Type, uint Flags, ulong Offset, ulong Vaddr, ulong Filesz, ulong Memsz, ulong Align)
{
    public const uint PT_LOAD = 1;
    public const uint PT_INTERP = 3;
    public const uint PT_PHDR = 6;
    public const uint PT_GNU_STACK = 0x6474E551;

    public const uint PF_X = 1;
    public const uint PF_W = 2;
    public const uint PF_R = 4;

    /// <summary>The segment's protection as PROT_* bits.</summary>
    public int Prot => ((Flags & PF_R) != 0 ? Mman.PROT_READ : 0) | ((Flags & PF_W) != 0 ? Mman.PROT_WRITE : 0) | ((Flags & PF_X) != 0 ? Mman.PROT_EXEC : 0);
}

/// <summary>
/// The parsed headers of an x86-64 ELF executable or shared object. Parsing validates everything the loader
/// relies on, so a malformed file is an ENOEXEC with a reason, never an exception.
/// </summary>
internal sealed class ElfFile
{
    public const ushort ET_EXEC = 2;
    public const ushort ET_DYN = 3;
    public const ushort EM_X86_64 = 62;
    public const int HeaderSize = 64;
    public const int ProgramHeaderSize = 56;

    /// <summary>Linux refuses more program headers than fit in 64 KiB.</summary>
    private const int MaxProgramHeadersBytes = 65536;

    private ElfFile(ushort type, ulong entry, ulong phoff, List<ElfProgramHeader> phdrs)
    {
        Type = type;
        Entry = entry;
        ProgramHeaderOffset = phoff;
        ProgramHeaders = phdrs;
    }

    public ushort Type { get; }

    public ulong Entry { get; }

    public ulong ProgramHeaderOffset { get; }

    public IReadOnlyList<ElfProgramHeader> ProgramHeaders { get; }

    /// <summary>The path in PT_INTERP, or null for a static program.</summary>
    public string? Interpreter { get; private set; }

    /// <summary>Whether the header starts with the ELF magic.</summary>
    public static bool HasElfMagic(ReadOnlySpan<byte> header) =>
        header.Length >= 4 && header[0] == 0x7F && header[1] == (byte)'E' && header[2] == (byte)'L' && header[3] == (byte)'F';

    /// <summary>
    /// Parses the ELF header in <paramref name="header"/> (at least 64 bytes read from offset 0, or fewer if
    /// the file is shorter) and reads the program headers with <paramref name="readAt"/>.
    /// </summary>
    /// <returns>The file, or null with a reason in <paramref name="error"/>.</returns>
    public static ElfFile? Parse(ReadOnlySpan<byte> header, long fileSize, Func<long, int, byte[]?> readAt, out string? error)
    {
        error = null;
        if (!HasElfMagic(header))
        {
            error = "not an ELF file";
            return null;
        }

        if (header.Length < HeaderSize)
        {
            error = "truncated ELF header";
            return null;
        }

        if (header[4] != 2)
        {
            error = "not a 64-bit ELF file";
            return null;
        }

        if (header[5] != 1)
        {
            error = "not a little-endian ELF file";
            return null;
        }

        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(header[16..]);
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(header[18..]);
        if (machine != EM_X86_64)
        {
            error = $"wrong architecture: ELF machine {machine}, this sandbox runs x86-64 (62)";
            return null;
        }

        if (type != ET_EXEC && type != ET_DYN)
        {
            error = $"ELF type {type} is not an executable";
            return null;
        }

        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(header[24..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header[54..]);
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(header[56..]);
        if (phentsize != ProgramHeaderSize)
        {
            error = $"unexpected program header size {phentsize}";
            return null;
        }

        int phBytes = phnum * ProgramHeaderSize;
        if (phnum == 0 || phBytes > MaxProgramHeadersBytes)
        {
            error = $"bad program header count {phnum}";
            return null;
        }

        if (phoff > (ulong)fileSize || (ulong)fileSize - phoff < (ulong)phBytes)
        {
            error = "truncated ELF file: program headers lie past its end";
            return null;
        }

        byte[]? ph = readAt((long)phoff, phBytes);
        if (ph == null || ph.Length < phBytes)
        {
            error = "truncated ELF file: cannot read program headers";
            return null;
        }

        var phdrs = new List<ElfProgramHeader>(phnum);
        for (int i = 0; i < phnum; i++)
        {
            ReadOnlySpan<byte> p = ph.AsSpan(i * ProgramHeaderSize, ProgramHeaderSize);
            var h = new ElfProgramHeader(
                BinaryPrimitives.ReadUInt32LittleEndian(p),
                BinaryPrimitives.ReadUInt32LittleEndian(p[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[32..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[40..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[48..]));
            if (h.Type == ElfProgramHeader.PT_LOAD)
            {
                if (h.Filesz > h.Memsz)
                {
                    error = "PT_LOAD segment with file size above memory size";
                    return null;
                }

                if (h.Offset + h.Filesz < h.Offset || h.Offset + h.Filesz > (ulong)fileSize)
                {
                    error = "truncated ELF file: a segment lies past its end";
                    return null;
                }

                if ((h.Vaddr & (Mman.PageSize - 1)) != (h.Offset & (Mman.PageSize - 1)))
                {
                    error = "PT_LOAD segment whose address and offset disagree modulo the page size";
                    return null;
                }

                if (h.Vaddr + h.Memsz < h.Vaddr)
                {
                    error = "PT_LOAD segment wraps the address space";
                    return null;
                }
            }

            phdrs.Add(h);
        }

        var elf = new ElfFile(type, entry, phoff, phdrs);
        foreach (ElfProgramHeader h in phdrs)
        {
            if (h.Type != ElfProgramHeader.PT_INTERP)
            {
                continue;
            }

            if (h.Filesz < 2 || h.Filesz > 4096)
            {
                error = "bad PT_INTERP size";
                return null;
            }

            byte[]? interp = readAt((long)h.Offset, (int)h.Filesz);
            if (interp == null || interp.Length < (int)h.Filesz || interp[^1] != 0)
            {
                error = "bad PT_INTERP";
                return null;
            }

            elf.Interpreter = Moat.Abi.LinuxString.Encoding.GetString(interp, 0, interp.Length - 1);
            break; // Linux uses the first PT_INTERP and ignores any other
        }

        if (!elf.HasLoadSegment())
        {
            error = "no PT_LOAD segment";
            return null;
        }

        return elf;
    }

    /// <summary>The address of the program headers in memory once loaded with <paramref name="bias"/>, or 0.</summary>
    public ulong PhdrAddress(ulong bias)
    {
        foreach (ElfProgramHeader h in ProgramHeaders)
        {
            if (h.Type == ElfProgramHeader.PT_PHDR)
            {
                return h.Vaddr + bias;
            }
        }

        // No PT_PHDR: find the PT_LOAD that maps the program headers' file offset.
        foreach (ElfProgramHeader h in ProgramHeaders)
        {
            if (h.Type == ElfProgramHeader.PT_LOAD && ProgramHeaderOffset >= h.Offset && ProgramHeaderOffset < h.Offset + h.Filesz)
            {
                return h.Vaddr + (ProgramHeaderOffset - h.Offset) + bias;
            }
        }

        return 0;
    }

    private bool HasLoadSegment()
    {
        foreach (ElfProgramHeader h in ProgramHeaders)
        {
            if (h.Type == ElfProgramHeader.PT_LOAD)
            {
                return true;
            }
        }

        return false;
    }
}
