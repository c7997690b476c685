using System;
using System.Collections.Generic;
using System.Globalization;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// mount(2)'s MS_* flags and the text options of mount(8) and OCI's config.json ("ro", "nosuid",
/// "size=64m", ...): the per-mount flags they set, and what is left for the file system (its data string).
/// </summary>
internal static class MountOptions
{
    public const ulong MS_RDONLY = 0x1;
    public const ulong MS_NOSUID = 0x2;
    public const ulong MS_NODEV = 0x4;
    public const ulong MS_NOEXEC = 0x8;
    public const ulong MS_SYNCHRONOUS = 0x10;
    public const ulong MS_REMOUNT = 0x20;
    public const ulong MS_MANDLOCK = 0x40;
    public const ulong MS_DIRSYNC = 0x80;
    public const ulong MS_NOSYMFOLLOW = 0x100;
    public const ulong MS_NOATIME = 0x400;
    public const ulong MS_NODIRATIME = 0x800;
    public const ulong MS_BIND = 0x1000;
    public const ulong MS_MOVE = 0x2000;
    public const ulong MS_REC = 0x4000;
    public const ulong MS_SILENT = 0x8000;
    public const ulong MS_UNBINDABLE = 1 << 17;
    public const ulong MS_PRIVATE = 1 << 18;
    public const ulong MS_SLAVE = 1 << 19;
    public const ulong MS_SHARED = 1 << 20;
    public const ulong MS_RELATIME = 1 << 21;
    public const ulong MS_STRICTATIME = 1 << 24;
    public const ulong MS_LAZYTIME = 1 << 25;
    public const ulong MS_NOUSER = 1UL << 31;
    public const ulong MS_MGC_VAL = 0xC0ED0000;
    public const ulong MS_MGC_MSK = 0xFFFF0000;
    public const ulong PropagationFlags = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

    /// <summary>The per-mount flags that MS_* flags ask for (relatime unless noatime or strictatime).</summary>
    public static MountFlags FromMs(ulong ms)
    {
        MountFlags f = MountFlags.None;
        f |= (ms & MS_RDONLY) != 0 ? MountFlags.ReadOnly : 0;
        f |= (ms & MS_NOSUID) != 0 ? MountFlags.NoSuid : 0;
        f |= (ms & MS_NODEV) != 0 ? MountFlags.NoDev : 0;
        f |= (ms & MS_NOEXEC) != 0 ? MountFlags.NoExec : 0;
        f |= (ms & MS_NOATIME) != 0 ? MountFlags.NoAtime : 0;
        f |= (ms & MS_NODIRATIME) != 0 ? MountFlags.NoDirAtime : 0;
        f |= (ms & MS_STRICTATIME) != 0 && (ms & MS_NOATIME) == 0 ? MountFlags.StrictAtime : 0;
        return f;
    }

    /// <summary>
    /// Splits text options into MS_* flags (as mount(8) and runc translate them) and the file system's data
    /// options. A "no" form clears what an earlier option set, as runc does.
    /// </summary>
    public static (ulong Flags, List<string> Data) Parse(IEnumerable<string> options)
    {
        ulong flags = 0;
        var data = new List<string>();
        foreach (string o in options)
        {
            switch (o)
            {
                case "ro": flags |= MS_RDONLY; break;
                case "rw": flags &= ~MS_RDONLY; break;
                case "nosuid": flags |= MS_NOSUID; break;
                case "suid": flags &= ~MS_NOSUID; break;
                case "nodev": flags |= MS_NODEV; break;
                case "dev": flags &= ~MS_NODEV; break;
                case "noexec": flags |= MS_NOEXEC; break;
                case "exec": flags &= ~MS_NOEXEC; break;
                case "noatime": flags |= MS_NOATIME; break;
                case "atime": flags &= ~MS_NOATIME; break;
                case "nodiratime": flags |= MS_NODIRATIME; break;
                case "diratime": flags &= ~MS_NODIRATIME; break;
                case "relatime": flags |= MS_RELATIME; break;
                case "norelatime": flags &= ~MS_RELATIME; break;
                case "strictatime": flags |= MS_STRICTATIME; break;
                case "nostrictatime": flags &= ~MS_STRICTATIME; break;
                case "sync": flags |= MS_SYNCHRONOUS; break;
                case "async": flags &= ~MS_SYNCHRONOUS; break;
                case "dirsync": flags |= MS_DIRSYNC; break;
                case "mand": flags |= MS_MANDLOCK; break;
                case "nomand": flags &= ~MS_MANDLOCK; break;
                case "lazytime": flags |= MS_LAZYTIME; break;
                case "nolazytime": flags &= ~MS_LAZYTIME; break;
                case "nosymfollow": flags |= MS_NOSYMFOLLOW; break;
                case "symfollow": flags &= ~MS_NOSYMFOLLOW; break;
                case "silent": flags |= MS_SILENT; break;
                case "loud": flags &= ~MS_SILENT; break;
                case "remount": flags |= MS_REMOUNT; break;
                case "bind": flags |= MS_BIND; break;
                case "rbind": flags |= MS_BIND | MS_REC; break;
                case "private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave" or "unbindable" or "runbindable":
                    break; // propagation: every mount of the sandbox is private
                case "":
                    break;
                default: data.Add(o); break;
            }
        }

        return (flags, data);
    }

    /// <summary>
    /// Reads tmpfs's options (size=, nr_blocks=, nr_inodes=, mode=, uid=, gid=, huge=, mpol=) as Linux's
    /// shmem does; an unknown option or a bad value is EINVAL. <paramref name="totalBytes"/> is what size=N%
    /// is a percentage of.
    /// </summary>
    public static bool TryParseTmpfs(IEnumerable<string> data, long totalBytes, out long maxPages, out uint? mode, out uint? uid, out uint? gid)
    {
        maxPages = 0;
        mode = null;
        uid = null;
        gid = null;
        foreach (string o in data)
        {
            int eq = o.IndexOf('=', StringComparison.Ordinal);
            string key = eq < 0 ? o : o[..eq];
            string value = eq < 0 ? string.Empty : o[(eq + 1)..];
            switch (key)
            {
                case "size":
                    if (!TryParseSize(value, totalBytes, out long bytes))
                    {
                        return false;
                    }

                    maxPages = (bytes + 4095) / 4096;
                    break;
                case "nr_blocks":
                    if (!TryParseSize(value, 0, out long blocks))
                    {
                        return false;
                    }

                    maxPages = blocks;
                    break;
                case "nr_inodes":
                    if (!TryParseSize(value, 0, out _))
                    {
                        return false;
                    }

                    break; // inodes are not limited here: the memory limit bounds them
                case "mode":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _) || !TryParseOctal(value, out uint m))
                    {
                        return false;
                    }

                    mode = m & 0xFFF;
                    break;
                case "uid":
                case "gid":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) || id == uint.MaxValue)
                    {
                        return false;
                    }

                    if (key == "uid")
                    {
                        uid = id;
                    }
                    else
                    {
                        gid = id;
                    }

                    break;
                case "huge" when value is "never" or "always" or "within_size" or "advise" or "deny" or "force":
                    break; // pages are never huge here
                case "mpol":
                    break; // one NUMA node
                default:
                    return false;
            }
        }

        return true;
    }

    // memparse: a number (decimal, 0x hex or 0 octal) with an optional k/m/g/t/p/e suffix, or a percentage.
    private static bool TryParseSize(string value, long totalBytes, out long bytes)
    {
        bytes = 0;
        if (value.Length == 0)
        {
            return false;
        }

        if (value.EndsWith('%') && totalBytes > 0)
        {
            if (!ulong.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong pct))
            {
                return false;
            }

            bytes = (long)((ulong)totalBytes / 100 * pct);
            return true;
        }

        int shift = char.ToLowerInvariant(value[^1]) switch { 'k' => 10, 'm' => 20, 'g' => 30, 't' => 40, 'p' => 50, 'e' => 60, _ => 0 };
        string digits = shift == 0 ? value : value[..^1];
        ulong n;
        bool ok = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out n)
            : ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out n);
        if (!ok)
        {
            return false;
        }

        bytes = (long)Math.Min(n << shift, long.MaxValue);
        return true;
    }

    private static bool TryParseOctal(string value, out uint result)
    {
        result = 0;
        foreach (char c in value)
        {
            if (c is < '0' or > '7' || result > 0x1FFFFFFF)
            {
                return false;
            }

            result = (result << 3) | (uint)(c - '0');
        }

        return true;
    }
}
