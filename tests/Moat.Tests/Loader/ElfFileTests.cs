using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Loader;

namespace Moat.Tests.Loader;

public class ElfFileTests
{
    private const ulong ImageBase = 0x400000;

    /// <summary>Builds a 64-bit little-endian ELF image in memory.</summary>
    private sealed class ElfImage
    {
        public ushort Type { get; set; } = ElfFile.ET_EXEC;

        public ushort Machine { get; set; } = ElfFile.EM_X86_64;

        public byte Class { get; set; } = 2;

        public byte Data { get; set; } = 1;

        public ulong Entry { get; set; } = ImageBase + 0x1000;

        public ulong PhOff { get; set; } = 64;

        public ushort PhEntSize { get; set; } = ElfFile.ProgramHeaderSize;

        public ushort? PhNum { get; set; }

        public int Size { get; set; } = 0x3000;

        public List<ElfProgramHeader> Phdrs { get; } = [];

        public List<(int Offset, byte[] Bytes)> Blobs { get; } = [];

        public static ElfImage Minimal()
        {
            var e = new ElfImage();
            e.Phdrs.Add(Load(0, ImageBase, 0x2000, 0x2000, ElfProgramHeader.PF_R | ElfProgramHeader.PF_X));
            return e;
        }

        public static ElfProgramHeader Load(ulong offset, ulong vaddr, ulong filesz, ulong memsz, uint flags) =>
            new(ElfProgramHeader.PT_LOAD, flags, offset, vaddr, filesz, memsz, 0x1000);

        public byte[] Build()
        {
            byte[] b = new byte[Size];
            Span<byte> h = b;
            h[0] = 0x7F;
            h[1] = (byte)'E';
            h[2] = (byte)'L';
            h[3] = (byte)'F';
            h[4] = Class;
            h[5] = Data;
            h[6] = 1;
            BinaryPrimitives.WriteUInt16LittleEndian(h[16..], Type);
            BinaryPrimitives.WriteUInt16LittleEndian(h[18..], Machine);
            BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
            BinaryPrimitives.WriteUInt64LittleEndian(h[24..], Entry);
            BinaryPrimitives.WriteUInt64LittleEndian(h[32..], PhOff);
            BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64);
            BinaryPrimitives.WriteUInt16LittleEndian(h[54..], PhEntSize);
            BinaryPrimitives.WriteUInt16LittleEndian(h[56..], PhNum ?? (ushort)Phdrs.Count);
            for (int i = 0; i < Phdrs.Count; i++)
            {
                ulong at64 = PhOff + (ulong)(i * ElfFile.ProgramHeaderSize);
                int at = (int)Math.Min(at64, int.MaxValue);
                if (at64 > (ulong)b.Length || at + ElfFile.ProgramHeaderSize > b.Length)
                {
                    break;
                }

                Span<byte> p = h.Slice(at, ElfFile.ProgramHeaderSize);
                ElfProgramHeader ph = Phdrs[i];
                BinaryPrimitives.WriteUInt32LittleEndian(p, ph.Type);
                BinaryPrimitives.WriteUInt32LittleEndian(p[4..], ph.Flags);
                BinaryPrimitives.WriteUInt64LittleEndian(p[8..], ph.Offset);
                BinaryPrimitives.WriteUInt64LittleEndian(p[16..], ph.Vaddr);
                BinaryPrimitives.WriteUInt64LittleEndian(p[24..], ph.Vaddr);
                BinaryPrimitives.WriteUInt64LittleEndian(p[32..], ph.Filesz);
                BinaryPrimitives.WriteUInt64LittleEndian(p[40..], ph.Memsz);
                BinaryPrimitives.WriteUInt64LittleEndian(p[48..], ph.Align);
            }

            foreach ((int offset, byte[] bytes) in Blobs)
            {
                bytes.CopyTo(b, offset);
            }

            return b;
        }
    }

    private static ElfFile? Parse(byte[] file, out string? error) => Parse(file, file.Length, out error);

    private static ElfFile? Parse(byte[] file, long fileSize, out string? error) =>
        ElfFile.Parse(file.AsSpan(0, Math.Min(file.Length, 64)), fileSize, (off, len) => ReadAt(file, off, len), out error);

    private static byte[]? ReadAt(byte[] file, long offset, int length)
    {
        if (offset < 0 || offset > file.Length || length < 0 || file.Length - offset < length)
        {
            return null;
        }

        return file.AsSpan((int)offset, length).ToArray();
    }

    private static string Rejects(ElfImage image) => Rejects(image.Build());

    private static string Rejects(byte[] file)
    {
        ElfFile? elf = Parse(file, out string? error);
        Assert.Null(elf);
        Assert.NotNull(error);
        return error!;
    }

    [Fact]
    public void Parse_MinimalExecutable_Succeeds()
    {
        ElfImage image = ElfImage.Minimal();

        ElfFile? elf = Parse(image.Build(), out string? error);

        Assert.Null(error);
        Assert.NotNull(elf);
        Assert.Equal(ElfFile.ET_EXEC, elf!.Type);
        Assert.Equal(ImageBase + 0x1000, elf.Entry);
        Assert.Equal(64UL, elf.ProgramHeaderOffset);
        Assert.Null(elf.Interpreter);
        ElfProgramHeader load = Assert.Single(elf.ProgramHeaders);
        Assert.Equal(ElfProgramHeader.PT_LOAD, load.Type);
        Assert.Equal(ImageBase, load.Vaddr);
        Assert.Equal(0x2000UL, load.Filesz);
        Assert.Equal(0x2000UL, load.Memsz);
        Assert.Equal(0x1000UL, load.Align);
        Assert.Equal(Mman.PROT_READ | Mman.PROT_EXEC, load.Prot);
    }

    [Fact]
    public void Parse_SharedObject_Succeeds()
    {
        ElfImage image = ElfImage.Minimal();
        image.Type = ElfFile.ET_DYN;

        ElfFile? elf = Parse(image.Build(), out _);

        Assert.NotNull(elf);
        Assert.Equal(ElfFile.ET_DYN, elf!.Type);
    }

    [Fact]
    public void Parse_NotElf_Rejected()
    {
        byte[] file = Encoding.ASCII.GetBytes("#!/bin/sh\necho this is a script, not an ELF file\n" + new string(' ', 64));

        Assert.Equal("not an ELF file", Rejects(file));
    }

    [Fact]
    public void Parse_Empty_Rejected()
    {
        Assert.Equal("not an ELF file", Rejects([]));
    }

    [Fact]
    public void Parse_ShortHeader_Rejected()
    {
        byte[] file = ElfImage.Minimal().Build().AsSpan(0, 40).ToArray();

        Assert.Contains("truncated", Rejects(file), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_32Bit_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.Class = 1;

        Assert.Contains("64-bit", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BigEndian_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.Data = 2;

        Assert.Contains("little-endian", Rejects(image), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData((ushort)3)] // EM_386
    [InlineData((ushort)183)] // EM_AARCH64
    [InlineData((ushort)243)] // EM_RISCV
    public void Parse_WrongMachine_Rejected(ushort machine)
    {
        ElfImage image = ElfImage.Minimal();
        image.Machine = machine;

        Assert.Contains("wrong architecture", Rejects(image), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData((ushort)0)] // ET_NONE
    [InlineData((ushort)1)] // ET_REL
    [InlineData((ushort)4)] // ET_CORE
    public void Parse_NotExecutableType_Rejected(ushort type)
    {
        ElfImage image = ElfImage.Minimal();
        image.Type = type;

        Assert.Contains("not an executable", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WrongProgramHeaderSize_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.PhEntSize = 32;

        Assert.Contains("program header size", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ZeroProgramHeaders_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.PhNum = 0;

        Assert.Contains("program header count", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TooManyProgramHeaders_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.PhNum = 65535;
        image.Size = 65535 * 56 + 64;

        Assert.Contains("program header count", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ProgramHeadersPastEndOfFile_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.PhNum = 250; // 250 * 56 bytes at offset 64 do not fit in 0x3000 bytes

        Assert.Contains("truncated", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ProgramHeaderOffsetPastEnd_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.PhOff = 0x10_0000;

        Assert.Contains("truncated", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ProgramHeaderOffsetHuge_RejectedWithoutOverflow()
    {
        ElfImage image = ElfImage.Minimal();
        image.PhOff = ulong.MaxValue - 8;

        Assert.Contains("truncated", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ReaderFails_Rejected()
    {
        byte[] file = ElfImage.Minimal().Build();

        ElfFile? elf = ElfFile.Parse(file.AsSpan(0, 64), file.Length, (_, _) => null, out string? error);

        Assert.Null(elf);
        Assert.Contains("cannot read program headers", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FileSizeAboveMemSize_Rejected()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(0, ImageBase, 0x2000, 0x1000, ElfProgramHeader.PF_R));

        Assert.Contains("file size above memory size", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SegmentPastEndOfFile_Rejected()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(0x1000, ImageBase + 0x1000, 0x5000, 0x5000, ElfProgramHeader.PF_R));

        Assert.Contains("past its end", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SegmentOffsetWraps_Rejected()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(ulong.MaxValue - 0xFFF, ImageBase + 0x1000, 0x2000, 0x2000, ElfProgramHeader.PF_R));

        Assert.Contains("past its end", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VaddrAndOffsetMisaligned_Rejected()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(0x1000, ImageBase + 0x1010, 0x100, 0x100, ElfProgramHeader.PF_R));

        Assert.Contains("modulo the page size", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VaddrAndOffsetEquallyUnaligned_Accepted()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(0x1010, ImageBase + 0x5010, 0x100, 0x2000, ElfProgramHeader.PF_R | ElfProgramHeader.PF_W));

        ElfFile? elf = Parse(image.Build(), out string? error);

        Assert.Null(error);
        Assert.Equal(Mman.PROT_READ | Mman.PROT_WRITE, elf!.ProgramHeaders[0].Prot);
    }

    [Fact]
    public void Parse_SegmentWrapsAddressSpace_Rejected()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(0, 0xFFFF_FFFF_FFFF_F000, 0x100, 0x2000, ElfProgramHeader.PF_R));

        Assert.Contains("wraps", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NoLoadSegment_Rejected()
    {
        var image = new ElfImage();
        image.Phdrs.Add(new ElfProgramHeader(ElfProgramHeader.PT_GNU_STACK, ElfProgramHeader.PF_R | ElfProgramHeader.PF_W, 0, 0, 0, 0, 16));

        Assert.Contains("no PT_LOAD", Rejects(image), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Interp_ReadsInterpreterPath()
    {
        byte[] interp = Encoding.ASCII.GetBytes("/lib64/ld-linux-x86-64.so.2\0");
        ElfImage image = ElfImage.Minimal();
        image.Phdrs.Insert(0, new ElfProgramHeader(ElfProgramHeader.PT_INTERP, ElfProgramHeader.PF_R, 0x200, ImageBase + 0x200, (ulong)interp.Length, (ulong)interp.Length, 1));
        image.Blobs.Add((0x200, interp));

        ElfFile? elf = Parse(image.Build(), out string? error);

        Assert.Null(error);
        Assert.Equal("/lib64/ld-linux-x86-64.so.2", elf!.Interpreter);
    }

    [Fact]
    public void Parse_InterpWithoutNul_Rejected()
    {
        byte[] interp = Encoding.ASCII.GetBytes("/lib/ld.so");
        ElfImage image = ElfImage.Minimal();
        image.Phdrs.Add(new ElfProgramHeader(ElfProgramHeader.PT_INTERP, ElfProgramHeader.PF_R, 0x200, 0, (ulong)interp.Length, (ulong)interp.Length, 1));
        image.Blobs.Add((0x200, interp));

        Assert.Equal("bad PT_INTERP", Rejects(image));
    }

    [Fact]
    public void Parse_TwoInterps_FirstWinsAsOnLinux()
    {
        byte[] first = Encoding.ASCII.GetBytes("/lib/first.so\0");
        byte[] second = Encoding.ASCII.GetBytes("/lib/second"); // no NUL: Linux never looks at it
        ElfImage image = ElfImage.Minimal();
        image.Phdrs.Add(new ElfProgramHeader(ElfProgramHeader.PT_INTERP, ElfProgramHeader.PF_R, 0x200, 0, (ulong)first.Length, (ulong)first.Length, 1));
        image.Phdrs.Add(new ElfProgramHeader(ElfProgramHeader.PT_INTERP, ElfProgramHeader.PF_R, 0x300, 0, (ulong)second.Length, (ulong)second.Length, 1));
        image.Blobs.Add((0x200, first));
        image.Blobs.Add((0x300, second));

        ElfFile? elf = Parse(image.Build(), out string? error);

        Assert.Null(error);
        Assert.Equal("/lib/first.so", elf!.Interpreter);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(4097UL)]
    public void Parse_InterpBadSize_Rejected(ulong size)
    {
        ElfImage image = ElfImage.Minimal();
        image.Phdrs.Add(new ElfProgramHeader(ElfProgramHeader.PT_INTERP, ElfProgramHeader.PF_R, 0x200, 0, size, size, 1));

        Assert.Equal("bad PT_INTERP size", Rejects(image));
    }

    [Fact]
    public void Parse_InterpPastEndOfFile_Rejected()
    {
        ElfImage image = ElfImage.Minimal();
        image.Phdrs.Add(new ElfProgramHeader(ElfProgramHeader.PT_INTERP, ElfProgramHeader.PF_R, 0x2FF0, 0, 0x20, 0x20, 1));

        Assert.Equal("bad PT_INTERP", Rejects(image));
    }

    [Fact]
    public void PhdrAddress_WithPtPhdr_UsesItsVaddr()
    {
        ElfImage image = ElfImage.Minimal();
        image.Phdrs.Insert(0, new ElfProgramHeader(ElfProgramHeader.PT_PHDR, ElfProgramHeader.PF_R, 64, ImageBase + 0x1234, 112, 112, 8));

        ElfFile elf = Parse(image.Build(), out _)!;

        Assert.Equal(ImageBase + 0x1234, elf.PhdrAddress(0));
        Assert.Equal(ImageBase + 0x1234 + 0x5555_0000, elf.PhdrAddress(0x5555_0000));
    }

    [Fact]
    public void PhdrAddress_WithoutPtPhdr_UsesLoadCoveringPhoff()
    {
        var image = new ElfImage { PhOff = 0x1040 };
        image.Phdrs.Add(ElfImage.Load(0, ImageBase, 0x1000, 0x1000, ElfProgramHeader.PF_R));
        image.Phdrs.Add(ElfImage.Load(0x1000, ImageBase + 0x10_0000, 0x2000, 0x2000, ElfProgramHeader.PF_R | ElfProgramHeader.PF_X));

        ElfFile elf = Parse(image.Build(), out string? error)!;

        Assert.Null(error);
        Assert.Equal(ImageBase + 0x10_0040, elf.PhdrAddress(0));
        Assert.Equal(ImageBase + 0x10_0040 + 0x1_0000, elf.PhdrAddress(0x1_0000));
    }

    [Fact]
    public void PhdrAddress_NotLoaded_ReturnsZero()
    {
        var image = new ElfImage();
        image.Phdrs.Add(ElfImage.Load(0x1000, ImageBase + 0x1000, 0x1000, 0x1000, ElfProgramHeader.PF_R));

        ElfFile elf = Parse(image.Build(), out _)!;

        Assert.Equal(0UL, elf.PhdrAddress(0));
    }

    [Theory]
    [InlineData(0u, Mman.PROT_NONE)]
    [InlineData(ElfProgramHeader.PF_R, Mman.PROT_READ)]
    [InlineData(ElfProgramHeader.PF_W, Mman.PROT_WRITE)]
    [InlineData(ElfProgramHeader.PF_X, Mman.PROT_EXEC)]
    [InlineData(ElfProgramHeader.PF_R | ElfProgramHeader.PF_W | ElfProgramHeader.PF_X, Mman.PROT_READ | Mman.PROT_WRITE | Mman.PROT_EXEC)]
    public void Prot_MapsSegmentFlags(uint flags, int prot)
    {
        Assert.Equal(prot, new ElfProgramHeader(ElfProgramHeader.PT_LOAD, flags, 0, 0, 0, 0, 0).Prot);
    }

    [Fact]
    public void HasElfMagic_ChecksFirstFourBytes()
    {
        Assert.True(ElfFile.HasElfMagic([0x7F, (byte)'E', (byte)'L', (byte)'F']));
        Assert.False(ElfFile.HasElfMagic([0x7F, (byte)'E', (byte)'L']));
        Assert.False(ElfFile.HasElfMagic([0x7F, (byte)'E', (byte)'L', (byte)'G']));
    }

    [Fact]
    public void Parse_RealBusybox_IsStaticExecutable()
    {
        const string Path = "/bin/busybox";
        Assert.True(File.Exists(Path), "this test needs busybox-static installed at /bin/busybox");
        byte[] file = File.ReadAllBytes(Path);

        ElfFile? elf = Parse(file, out string? error);

        Assert.Null(error);
        Assert.NotNull(elf);
        Assert.Equal(BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(16)), elf!.Type);
        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(24)), elf.Entry);
        Assert.Equal(BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(56)), elf.ProgramHeaders.Count);
        Assert.Null(elf.Interpreter);

        // The entry point lies in an executable PT_LOAD.
        ulong bias = elf.Type == ElfFile.ET_DYN ? 0x5555_5555_4000UL : 0;
        Assert.Contains(elf.ProgramHeaders, h => h.Type == ElfProgramHeader.PT_LOAD && (h.Prot & Mman.PROT_EXEC) != 0 && elf.Entry >= h.Vaddr && elf.Entry < h.Vaddr + h.Memsz);

        // The program headers are mapped: either PT_PHDR or the first PT_LOAD (file offset 0).
        ulong phdr = elf.PhdrAddress(bias);
        ElfProgramHeader first = elf.ProgramHeaders.First(h => h.Type == ElfProgramHeader.PT_LOAD);
        Assert.NotEqual(0UL, phdr);
        if (!elf.ProgramHeaders.Any(h => h.Type == ElfProgramHeader.PT_PHDR))
        {
            Assert.Equal(first.Vaddr + elf.ProgramHeaderOffset - first.Offset + bias, phdr);
        }
    }

    [Fact]
    public void Parse_RealDynamicExecutable_ReadsInterpreter()
    {
        string? path = new[] { "/bin/ls", "/usr/bin/ls", "/bin/sh", "/usr/bin/env" }
            .FirstOrDefault(p => File.Exists(p) && File.ReadAllBytes(p).AsSpan(0, 4).SequenceEqual("\u007fELF"u8));
        Assert.NotNull(path);
        byte[] file = File.ReadAllBytes(path!);

        ElfFile? elf = Parse(file, out string? error);

        Assert.Null(error);
        Assert.NotNull(elf!.Interpreter);
        Assert.StartsWith("/", elf.Interpreter, StringComparison.Ordinal);
        Assert.Contains("ld-", elf.Interpreter, StringComparison.Ordinal);
    }
}
