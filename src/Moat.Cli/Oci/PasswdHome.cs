using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli.Oci;

/// <summary>
/// runc's HOME default: a process whose env has no HOME (or an empty one) gets the home directory of its uid's
/// entry in the container's /etc/passwd, or "/" when there is no such entry (or no readable file). The file is
/// read from the host side with openat2's RESOLVE_IN_ROOT beneath the rootfs, so a symlink resolves as it would
/// inside the container and never leads out of it; only a regular file is read, and only its first megabyte.
/// </summary>
internal static class PasswdHome
{
    private const int MaxBytes = 1 << 20;

    /// <summary>Adds HOME to <paramref name="env"/> when it lacks one, as runc does.</summary>
    public static List<string> WithDefault(List<string>? env, string rootfs, uint uid)
    {
        var result = new List<string>(env ?? []);
        int at = result.FindIndex(static e => e.StartsWith("HOME=", StringComparison.Ordinal));
        if (at >= 0 && result[at].Length > "HOME=".Length)
        {
            return result;
        }

        string home = "HOME=" + (HomeOf(rootfs, uid) ?? "/");
        if (at >= 0)
        {
            result[at] = home;
        }
        else
        {
            result.Add(home);
        }

        return result;
    }

    /// <summary>The home field of the first /etc/passwd entry of <paramref name="uid"/> in the rootfs, or null.</summary>
    internal static string? HomeOf(string rootfs, uint uid)
    {
        string? text = ReadBeneath(rootfs, "etc/passwd");
        if (text == null)
        {
            return null;
        }

        foreach (string raw in text.Split('\n'))
        {
            string line = raw.Trim();
            string[] fields = line.Split(':');
            if (line.Length == 0 || fields.Length < 6)
            {
                continue;
            }

            // A number, as runc's (and glibc's) parser reads it: "07" is uid 7.
            if (ulong.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out ulong u) && u == uid)
            {
                return fields[5];
            }
        }

        return null;
    }

    private static string? ReadBeneath(string rootfs, string path)
    {
        long root = HostPath.Openat(OpenFlags.AT_FDCWD, rootfs, OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC);
        if (root < 0)
        {
            return null;
        }

        long fd;
        try
        {
            // O_NONBLOCK: a FIFO planted at /etc/passwd does not hold create up.
            fd = HostPath.Openat2((int)root, path, OpenFlags.O_RDONLY | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC, HostPath.RESOLVE_IN_ROOT);
        }
        finally
        {
            HostFile.Close((int)root);
        }

        if (fd < 0)
        {
            return null;
        }

        using var handle = new SafeFileHandle((IntPtr)fd, ownsHandle: true);
        if (HostFile.Fstat((int)fd, out Stat st) < 0 || (st.st_mode & 0xF000) != 0x8000 /* S_IFREG */)
        {
            return null;
        }

        try
        {
            var buffer = new byte[MaxBytes];
            int total = 0;
            int n;
            while (total < buffer.Length && (n = RandomAccess.Read(handle, buffer.AsSpan(total), total)) > 0)
            {
                total += n;
            }

            return Encoding.UTF8.GetString(buffer, 0, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
