using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Platform;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>/proc/PID/maps, written as Linux's show_map_vma writes it.</summary>
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

            MappedFileId? id = v.Origin;
            int lineStart = Prefix(sb, v.Start, v.End, v.Prot, v.Shared, id == null ? 0 : v.FileOffset, id?.Dev ?? 0, id?.Ino ?? 0);
            if (v.Name != null)
            {
                // A file is named where it was reached (d_path), as fd links are.
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

        for (; next < special.Count; next++)
        {
            Special(sb, mm, special[next]);
        }

        return sb.ToString();
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
