using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>/proc/PID/maps, smaps and smaps_rollup, written as Linux's show_map_vma and show_smap write them.</summary>
internal static class ProcMaps
{
    /// <summary>
    /// The lines of <paramref name="mm"/>'s VMAs and of the host's special mappings every stub shows ([vvar],
    /// [vdso], [vsyscall]), in address order.
    /// </summary>
    public static string Maps(Task caller, MemoryManager mm)
    {
        var sb = new StringBuilder();
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal); // a file has several VMAs
        IReadOnlyList<SpecialMapping> special = caller.Kernel.Platform.SpecialMappings;
        int next = 0;
        foreach (Vma v in mm.SnapshotVmas())
        {
            for (; next < special.Count && special[next].Start < v.Start; next++)
            {
                Special(sb, mm, special[next]);
            }

            Header(sb, caller, v, resolved);
        }

        for (; next < special.Count; next++)
        {
            Special(sb, mm, special[next]);
        }

        return sb.ToString();
    }

    /// <summary>
    /// /proc/PID/smaps: each line of maps followed by the VMA's memory counts, as Linux's show_smap writes them.
    /// The Sentry knows which pages have memory behind them, not how many processes map a page, so every page
    /// counts as private (Pss = Rss); pages of anonymous or writable memory count as dirty, the rest as clean.
    /// The special mappings show no resident pages.
    /// </summary>
    public static string Smaps(Task caller, MemoryManager mm)
    {
        var sb = new StringBuilder();
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        IReadOnlyList<SpecialMapping> special = caller.Kernel.Platform.SpecialMappings;
        int next = 0;
        foreach ((Vma v, ulong resident) in mm.SnapshotVmaResidency())
        {
            for (; next < special.Count && special[next].Start < v.Start; next++)
            {
                SpecialSmap(sb, mm, special[next]);
            }

            Header(sb, caller, v, resolved);
            Counts(sb, Usage.Of(v, resident), size: v.Length, rollup: false);
            sb.Append("THPeligible:    ").Append(' ', 7).Append("0\n");
            sb.Append("VmFlags: ").Append(VmFlags(v)).Append('\n');
        }

        for (; next < special.Count; next++)
        {
            SpecialSmap(sb, mm, special[next]);
        }

        return sb.ToString();
    }

    /// <summary>/proc/PID/smaps_rollup: the sums of smaps over the whole address space (show_smaps_rollup).</summary>
    public static string SmapsRollup(MemoryManager mm)
    {
        List<(Vma Vma, ulong Resident)> vmas = mm.SnapshotVmaResidency();
        var total = default(Usage);
        foreach ((Vma v, ulong resident) in vmas)
        {
            total += Usage.Of(v, resident);
        }

        var sb = new StringBuilder();
        ulong start = vmas.Count > 0 ? vmas[0].Vma.Start : 0;
        ulong end = vmas.Count > 0 ? vmas[^1].Vma.End : 0;
        int lineStart = Prefix(sb, start, end, 0, false, 0, 0, 0);
        Name(sb, lineStart, "[rollup]");
        sb.Append('\n');
        Counts(sb, total, size: 0, rollup: true);
        return sb.ToString();
    }

    // A VMA's maps line, its file named where it was reached (d_path), as fd links are.
    private static void Header(StringBuilder sb, Task caller, in Vma v, Dictionary<string, string> resolved)
    {
        MappedFileId? id = v.Origin;
        int lineStart = Prefix(sb, v.Start, v.End, v.Prot, v.Shared, id == null ? 0 : v.FileOffset, id?.Dev ?? 0, id?.Ino ?? 0);
        if (v.Name != null)
        {
            string name = v.Name;
            if (id != null && name.StartsWith('/') && !name.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                if (!resolved.TryGetValue(name, out string? real))
                {
                    real = PathOps.ResolveLinks(caller, name);
                    resolved[name] = real;
                }

                name = real;
            }

            Name(sb, lineStart, name);
        }

        sb.Append('\n');
    }

    // smaps' counts of one VMA (with its Size), or smaps_rollup's sums (with the Pss split by kind instead).
    private static void Counts(StringBuilder sb, in Usage u, ulong size, bool rollup)
    {
        if (!rollup)
        {
            Kb(sb, "Size:", size);
            Kb(sb, "KernelPageSize:", Mman.PageSize);
            Kb(sb, "MMUPageSize:", Mman.PageSize);
        }

        Kb(sb, "Rss:", u.Resident);
        Kb(sb, "Pss:", u.Resident);
        Kb(sb, "Pss_Dirty:", u.Dirty);
        if (rollup)
        {
            Kb(sb, "Pss_Anon:", u.Anonymous);
            Kb(sb, "Pss_File:", u.File);
            Kb(sb, "Pss_Shmem:", u.Shmem);
        }

        Kb(sb, "Shared_Clean:", 0);
        Kb(sb, "Shared_Dirty:", 0);
        Kb(sb, "Private_Clean:", u.Resident - u.Dirty);
        Kb(sb, "Private_Dirty:", u.Dirty);
        Kb(sb, "Referenced:", u.Resident);
        Kb(sb, "Anonymous:", u.Anonymous);
        foreach (string none in s_neverCounted)
        {
            Kb(sb, none, 0);
        }

        Kb(sb, "Locked:", u.Locked);
    }

    // Huge pages, KSM, swap and lazily freed pages: the Sentry has none of them.
    private static readonly string[] s_neverCounted =
    [
        "KSM:", "LazyFree:", "AnonHugePages:", "ShmemPmdMapped:", "FilePmdMapped:", "Shared_Hugetlb:", "Private_Hugetlb:", "Swap:", "SwapPss:",
    ];

    // "Label:" padded to 16 columns, the value in kB right-aligned in 8 (SEQ_PUT_DEC's layout).
    private static void Kb(StringBuilder sb, string label, ulong bytes)
    {
        string value = (bytes / 1024).ToString(CultureInfo.InvariantCulture);
        sb.Append(label).Append(' ', Math.Max(0, 16 - label.Length)).Append(' ', Math.Max(0, 8 - value.Length)).Append(value).Append(" kB\n");
    }

    // The VM_* flags Linux's show_smap_vma_flags prints, in its (bit) order, for the flags a Sentry VMA has.
    private static string VmFlags(in Vma v)
    {
        bool mayWrite = v.MayWrite;
        var sb = new StringBuilder(32);
        Flag(sb, (v.Prot & Mman.PROT_READ) != 0, "rd");
        Flag(sb, (v.Prot & Mman.PROT_WRITE) != 0, "wr");
        Flag(sb, (v.Prot & Mman.PROT_EXEC) != 0, "ex");
        Flag(sb, v.Shared && mayWrite, "sh"); // VM_SHARED: a MAP_SHARED of a file open read-only has only VM_MAYSHARE
        Flag(sb, (v.MaxProt & Mman.PROT_READ) != 0, "mr");
        Flag(sb, mayWrite, "mw");
        Flag(sb, (v.MaxProt & Mman.PROT_EXEC) != 0, "me");
        Flag(sb, v.Shared, "ms");
        Flag(sb, v.GrowsDown, "gd");
        Flag(sb, v.Locked, "lo");
        Flag(sb, !v.Shared && (v.Prot & Mman.PROT_WRITE) != 0, "ac"); // VM_ACCOUNT: private writable memory is committed
        return sb.ToString();
    }

    private static void Flag(StringBuilder sb, bool set, string name)
    {
        if (set)
        {
            sb.Append(name).Append(' ');
        }
    }

    // A special mapping in smaps: no resident pages the Sentry knows of, and the flags Linux gives it.
    private static void SpecialSmap(StringBuilder sb, MemoryManager mm, in SpecialMapping m)
    {
        int before = sb.Length;
        Special(sb, mm, m);
        if (sb.Length == before)
        {
            return;
        }

        Counts(sb, default, size: m.End - m.Start, rollup: false);
        sb.Append("THPeligible:    ").Append(' ', 7).Append("0\n");
        sb.Append("VmFlags: ").Append(m.Name switch
        {
            "[vdso]" => "rd ex mr mw me de ",
            "[vsyscall]" => "ex ",
            _ => "rd mr pf io de dd ", // [vvar] and its kin: VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP
        }).Append('\n');
    }

    /// <summary>What smaps counts of a VMA's resident bytes.</summary>
    private readonly record struct Usage(ulong Resident, ulong Dirty, ulong Anonymous, ulong File, ulong Shmem, ulong Locked)
    {
        public static Usage Of(in Vma v, ulong resident)
        {
            bool fileBacked = v.Origin != null || v.File != null;
            bool shmem = v.Shared && !fileBacked || v.Owner != null; // shared anonymous memory and SysV segments are shmem
            bool anonymous = !v.Shared && (!fileBacked || (v.Prot & Mman.PROT_WRITE) != 0);
            bool dirty = anonymous || shmem || (v.Shared && (v.Prot & Mman.PROT_WRITE) != 0);
            return new Usage(
                resident,
                dirty ? resident : 0,
                anonymous ? resident : 0,
                !anonymous && !shmem ? resident : 0,
                shmem ? resident : 0,
                v.Locked ? resident : 0);
        }

        public static Usage operator +(Usage a, Usage b) =>
            new(a.Resident + b.Resident, a.Dirty + b.Dirty, a.Anonymous + b.Anonymous, a.File + b.File, a.Shmem + b.Shmem, a.Locked + b.Locked);
    }

    // A special mapping's line; the vDSO's pages only where this memory has the vDSO.
    private static void Special(StringBuilder sb, MemoryManager mm, in SpecialMapping m)
    {
        if (mm.VdsoAddress == 0 && m.Name != "[vsyscall]")
        {
            return;
        }

        int prot = (m.Perms[0] == 'r' ? Mman.PROT_READ : 0) | (m.Perms[1] == 'w' ? Mman.PROT_WRITE : 0) | (m.Perms[2] == 'x' ? Mman.PROT_EXEC : 0);
        int lineStart = Prefix(sb, m.Start, m.End, prot, m.Perms[3] == 's', 0, 0, 0);
        Name(sb, lineStart, m.Name);
        sb.Append('\n');
    }

    // "start-end perms offset major:minor inode " (show_vma_header_prefix). Returns where the line starts.
    private static int Prefix(StringBuilder sb, ulong start, ulong end, int prot, bool shared, ulong offset, ulong dev, ulong ino)
    {
        int lineStart = sb.Length;
        sb.Append(start.ToString("x8", CultureInfo.InvariantCulture)).Append('-').Append(end.ToString("x8", CultureInfo.InvariantCulture)).Append(' ');
        sb.Append((prot & Mman.PROT_READ) != 0 ? 'r' : '-');
        sb.Append((prot & Mman.PROT_WRITE) != 0 ? 'w' : '-');
        sb.Append((prot & Mman.PROT_EXEC) != 0 ? 'x' : '-');
        sb.Append(shared ? 's' : 'p');
        sb.Append(' ').Append(offset.ToString("x8", CultureInfo.InvariantCulture));
        sb.Append(' ').Append(DeviceNumbers.Major(dev).ToString("x2", CultureInfo.InvariantCulture)).Append(':').Append(DeviceNumbers.Minor(dev).ToString("x2", CultureInfo.InvariantCulture));
        sb.Append(' ').Append(ino.ToString(CultureInfo.InvariantCulture)).Append(' ');
        return lineStart;
    }

    // show_map_vma pads the name to column 73 (25 + 6 * sizeof(void *), then one space).
    private static void Name(StringBuilder sb, int lineStart, string name) =>
        sb.Append(' ', Math.Max(1, 73 - (sb.Length - lineStart))).Append(name);
}
