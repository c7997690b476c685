using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Loader;

/// <summary>
/// Lays out an ELF program in a fresh MemoryManager: its PT_LOAD segments (copied into the MemoryFile), its
/// interpreter if it has one, the stack with argv, envp and auxv, and the heap start. The host never sees the
/// program as a program: no execve, no host mapping of the file.
/// </summary>
internal static unsafe class ElfLoader
{
    /// <summary>Linux's ELF_ET_DYN_BASE on x86-64: where position-independent executables go.</summary>
    public const ulong DynBase = 0x5555_5555_4000;

    public const ulong DefaultStackSize = 8UL << 20;

    /// <summary>Credentials and identity values that the auxiliary vector reports.</summary>
    public readonly record struct AuxIdentity(uint Uid, uint Euid, uint Gid, uint Egid, bool Secure = false);

    /// <summary>Loads <paramref name="exe"/> (already parsed as <paramref name="elf"/>) into <paramref name="mm"/>.</summary>
    /// <param name="openInterpreter">Opens PT_INTERP's path, or returns null with -errno.</param>
    /// <returns>0 with the image, or -errno with a reason in <paramref name="error"/>.</returns>
    public static long Load(
        MemoryManager mm,
        IExecutableFile exe,
        ElfFile elf,
        IReadOnlyList<string> argv,
        IReadOnlyList<string> envp,
        string execFn,
        AuxIdentity identity,
        ulong stackSize,
        Func<string, (IExecutableFile? File, long Error)> openInterpreter,
        out LoadedImage image,
        out string? error)
    {
        image = default;
        error = null;

        ulong bias = 0;
        if (elf.Type == ElfFile.ET_DYN)
        {
            ulong align = MaxAlign(elf);
            bias = (DynBase + (RandomPages(1UL << 28) << Mman.PageShift) + align - 1) & ~(align - 1);
            bias -= MemoryManager.PageDown(MinVaddr(elf));
        }

        long r = LoadSegments(mm, exe, elf, bias, out ulong imageEnd);
        if (r < 0)
        {
            error = "cannot map the program's segments: " + Errno.FromValue((int)-r).Name;
            return r;
        }

        ulong entry = elf.Entry + bias;
        ulong interpBase = 0;
        if (elf.Interpreter != null)
        {
            (IExecutableFile? interp, long openErr) = openInterpreter(elf.Interpreter);
            if (interp == null)
            {
                error = $"cannot open the interpreter {elf.Interpreter}: {Errno.FromValue((int)-openErr).Name}";
                return openErr;
            }

            ElfFile? ielf = ParseHeaders(interp, out error);
            if (ielf == null || ielf.Type != ElfFile.ET_DYN)
            {
                error = $"bad interpreter {elf.Interpreter}: {error ?? "not a shared object"}";
                return -Errno.ELIBBAD.Value;
            }

            // Reserve the interpreter's whole span top-down, then lay its segments inside.
            ulong span = MemoryManager.PageUp(MaxVaddrEnd(ielf)) - MemoryManager.PageDown(MinVaddr(ielf));
            long at = mm.MmapAnonymous(0, span, Mman.PROT_NONE, Mman.MAP_PRIVATE);
            if (at < 0)
            {
                error = "no room for the interpreter";
                return at;
            }

            interpBase = (ulong)at - MemoryManager.PageDown(MinVaddr(ielf));
            r = LoadSegments(mm, interp, ielf, interpBase, out _);
            if (r < 0)
            {
                error = "cannot map the interpreter's segments: " + Errno.FromValue((int)-r).Name;
                return r;
            }

            entry = ielf.Entry + interpBase;
        }

        // Stack just below the platform's limit, randomly lowered; mmap area below the stack and its gap.
        ulong stackTop = MemoryManager.PageDown(mm.MaxAddress - (RandomPages(1UL << 22) << Mman.PageShift) - Mman.PageSize);
        long s = mm.MmapAnonymous(stackTop - stackSize, stackSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_FIXED | Mman.MAP_GROWSDOWN, "[stack]");
        if (s < 0)
        {
            error = "cannot map the stack";
            return s;
        }

        ulong gap = Math.Max(stackSize, 128UL << 20) + (RandomPages(1UL << 20) << Mman.PageShift);
        mm.MmapBase = stackTop - stackSize - gap;
        mm.SetBrkStart(MemoryManager.PageUp(imageEnd) + (RandomPages(1UL << 13) << Mman.PageShift));

        var aux = new List<(ulong Key, ulong Value)>
        {
            (Auxv.AT_PHDR, elf.PhdrAddress(bias)),
            (Auxv.AT_PHENT, ElfFile.ProgramHeaderSize),
            (Auxv.AT_PHNUM, (ulong)elf.ProgramHeaders.Count),
            (Auxv.AT_PAGESZ, Mman.PageSize),
            (Auxv.AT_BASE, interpBase),
            (Auxv.AT_FLAGS, 0),
            (Auxv.AT_ENTRY, elf.Entry + bias),
            (Auxv.AT_UID, identity.Uid),
            (Auxv.AT_EUID, identity.Euid),
            (Auxv.AT_GID, identity.Gid),
            (Auxv.AT_EGID, identity.Egid),
            (Auxv.AT_SECURE, identity.Secure ? 1UL : 0),
            (Auxv.AT_CLKTCK, 100),
            (Auxv.AT_HWCAP, HostProcess.GetAuxval(Auxv.AT_HWCAP)),
            (Auxv.AT_HWCAP2, HostProcess.GetAuxval(Auxv.AT_HWCAP2)),
            (Auxv.AT_MINSIGSTKSZ, HostProcess.GetAuxval(Auxv.AT_MINSIGSTKSZ)),
        };
        if (mm.VdsoAddress != 0)
        {
            aux.Add((Auxv.AT_SYSINFO_EHDR, mm.VdsoAddress));
        }

        r = StackBuilder.Build(mm, stackTop, argv, envp, execFn, aux, out ulong sp, out ulong argStart, out ulong argEnd, out ulong envStart, out ulong envEnd);
        if (r < 0)
        {
            error = "arguments and environment do not fit on the stack";
            return -Errno.E2BIG.Value;
        }

        image = new LoadedImage(entry, sp, argStart, argEnd, envStart, envEnd, imageEnd);
        return 0;
    }

    /// <summary>Reads and parses the ELF headers of <paramref name="file"/>.</summary>
    public static ElfFile? ParseHeaders(IExecutableFile file, out string? error)
    {
        byte[] header = new byte[ElfFile.HeaderSize];
        long n;
        fixed (byte* p = header)
        {
            n = file.ReadAt(0, p, (ulong)header.Length);
        }

        if (n < 0)
        {
            error = "cannot read the file: " + Errno.FromValue((int)-n).Name;
            return null;
        }

        return ElfFile.Parse(header.AsSpan(0, (int)n), file.Size, (off, len) => ReadBytes(file, off, len), out error);
    }

    private static byte[]? ReadBytes(IExecutableFile file, long offset, int length)
    {
        byte[] b = new byte[length];
        int done = 0;
        fixed (byte* p = b)
        {
            while (done < length)
            {
                long n = file.ReadAt(offset + done, p + done, (ulong)(length - done));
                if (n <= 0)
                {
                    return null;
                }

                done += (int)n;
            }
        }

        return b;
    }

    // Maps each PT_LOAD as Linux does: file pages from PageDown(offset) at PageDown(vaddr), the rest zero.
    private static long LoadSegments(MemoryManager mm, IExecutableFile file, ElfFile elf, ulong bias, out ulong imageEnd)
    {
        imageEnd = 0;
        foreach (ElfProgramHeader h in elf.ProgramHeaders)
        {
            if (h.Type != ElfProgramHeader.PT_LOAD || h.Memsz == 0)
            {
                continue;
            }

            ulong start = MemoryManager.PageDown(h.Vaddr + bias);
            ulong end = MemoryManager.PageUp(h.Vaddr + bias + h.Memsz);
            if (start < mm.MinAddress || end > mm.MaxAddress || end <= start)
            {
                return -Errno.ENOMEM.Value;
            }

            // As Linux's elf_load: the pages holding file bytes are a private mapping of the file; the bss
            // beyond them is anonymous memory.
            ulong fileEnd = h.Filesz == 0 ? start : Math.Min(MemoryManager.PageUp(h.Vaddr + bias + h.Filesz), end);
            long r = fileEnd > start ? mm.MmapAnonymous(start, fileEnd - start, h.Prot, Mman.MAP_PRIVATE | Mman.MAP_FIXED, file.Path, file.Id, MemoryManager.PageDown(h.Offset)) : 0;
            if (r >= 0 && end > fileEnd)
            {
                r = mm.MmapAnonymous(fileEnd, end - fileEnd, h.Prot, Mman.MAP_PRIVATE | Mman.MAP_FIXED);
            }

            if (r < 0)
            {
                return r;
            }

            ulong fileStart = MemoryManager.PageDown(h.Offset);
            ulong copyLen = h.Offset + h.Filesz - fileStart;
            ulong done = 0;
            if (copyLen > 0 && file is HostExecutableFile host && host.MapCached(mm, start, fileStart, (int)(MemoryManager.PageUp(copyLen) / Mman.PageSize)))
            {
                done = copyLen; // the page cache's pages, copy-on-write (the bss below breaks its first page)
            }

            while (done < copyLen)
            {
                // A tmpfs executable's ReadAt takes the file system's lock under this pin, the reverse of a
                // tmpfs read(2)'s order; safe only because no other task can reach mm before exec installs it.
                long n = mm.Translate(start + done, copyLen - done, AccessType.Force, out byte* dst, out MemoryManager.Pinned pin);
                if (n < 0)
                {
                    return n;
                }

                long got;
                using (pin)
                {
                    got = file.ReadAt((long)(fileStart + done), dst, (ulong)n);
                }

                if (got <= 0)
                {
                    return got < 0 ? got : -Errno.EIO.Value;
                }

                done += (ulong)got;
            }

            // Bytes of the last file page past the segment's file part are bss: zero them.
            ulong bssStart = h.Vaddr + bias + h.Filesz;
            ulong pageEnd = Math.Min(MemoryManager.PageUp(bssStart), end);
            if (pageEnd > bssStart)
            {
                long n = mm.Translate(bssStart, pageEnd - bssStart, AccessType.Force, out byte* z, out MemoryManager.Pinned pin);
                if (n < 0)
                {
                    return n;
                }

                using (pin)
                {
                    new Span<byte>(z, (int)n).Clear();
                }
            }

            // A page the segment lacks from now on (MADV_DONTNEED) is the file's again, as for mmap.
            if (fileEnd > start && file is HostExecutableFile exe)
            {
                mm.MarkBeyondEof(start, fileEnd, exe.PagesFor(mm), fileStart);
            }
            else if (fileEnd > start && file is TmpfsExecutableFile tmpfsExe)
            {
                tmpfsExe.ReadsFileWhenLacking(mm, start, fileEnd, fileStart);
            }

            imageEnd = Math.Max(imageEnd, h.Vaddr + bias + h.Memsz);
        }

        return 0;
    }

    private static ulong MinVaddr(ElfFile elf)
    {
        ulong min = ulong.MaxValue;
        foreach (ElfProgramHeader h in elf.ProgramHeaders)
        {
            if (h.Type == ElfProgramHeader.PT_LOAD)
            {
                min = Math.Min(min, h.Vaddr);
            }
        }

        return min;
    }

    private static ulong MaxVaddrEnd(ElfFile elf)
    {
        ulong max = 0;
        foreach (ElfProgramHeader h in elf.ProgramHeaders)
        {
            if (h.Type == ElfProgramHeader.PT_LOAD)
            {
                max = Math.Max(max, h.Vaddr + h.Memsz);
            }
        }

        return max;
    }

    private static ulong MaxAlign(ElfFile elf)
    {
        ulong align = Mman.PageSize;
        foreach (ElfProgramHeader h in elf.ProgramHeaders)
        {
            if (h.Type == ElfProgramHeader.PT_LOAD && h.Align > align && (h.Align & (h.Align - 1)) == 0 && h.Align <= (1UL << 30))
            {
                align = h.Align;
            }
        }

        return align;
    }

    // A uniformly random page count in [0, limit), for address-space layout randomization.
    private static ulong RandomPages(ulong limit)
    {
        Span<byte> b = stackalloc byte[8];
        HostRandom.Fill(b);
        return BitConverter.ToUInt64(b) % limit;
    }

    /// <summary>Encodes a string as the NUL-terminated bytes Linux puts on the stack.</summary>
    internal static byte[] CString(string s)
    {
        byte[] b = new byte[LinuxString.Encoding.GetByteCount(s) + 1];
        LinuxString.Encoding.GetBytes(s, b);
        return b;
    }
}
