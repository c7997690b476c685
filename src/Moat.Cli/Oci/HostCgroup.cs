using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace Moat.Cli.Oci;

/// <summary>
/// The host CPU cgroup a container's sandbox runs in, as runsc throttles its sandbox: create makes it and writes
/// linux.resources.cpu's quota, period and shares into it, oci-boot joins it before it spawns anything (the
/// gofer, the Sentry and every stub inherit it), update rewrites the values, delete removes it. The path is
/// linux.cgroupsPath as runc reads it (absolute: below the hierarchy's root; relative: below the runtime's own
/// cgroup), or runc's default, the container's id relative to the runtime's cgroup. cgroup v2 (cgroup2 at
/// /sys/fs/cgroup with the cpu controller) gets cpu.max and cpu.weight, cgroup v1 (a hierarchy with the cpu
/// controller) cpu.cfs_quota_us, cpu.cfs_period_us and cpu.shares, each written as runc writes it.
/// </summary>
internal static class HostCgroup
{
    private const string Root = "/sys/fs/cgroup";

    /// <summary>
    /// The cgroup directory for <paramref name="cgroupsPath"/> (null: runc's default) of container
    /// <paramref name="id"/>, or null with the reason when this host has no cpu hierarchy to use.
    /// </summary>
    public static string? Resolve(string? cgroupsPath, string id, out string why)
    {
        string inner = string.IsNullOrEmpty(cgroupsPath) || cgroupsPath.Contains(':', StringComparison.Ordinal) ? id : cgroupsPath;
        if (File.Exists(Root + "/cgroup.controllers"))
        {
            if (!Array.Exists(File.ReadAllText(Root + "/cgroup.controllers").Split(' ', '\n'), c => c == "cpu"))
            {
                why = "the cgroup v2 hierarchy has no cpu controller";
                return null;
            }

            why = string.Empty;
            return Under(Root, "/", OwnCgroup(File.ReadAllText("/proc/self/cgroup"), null), inner);
        }

        if (FindV1Mount(File.ReadAllText("/proc/self/mountinfo")) is not (string mountPoint, string mountRoot))
        {
            why = "no cgroup hierarchy with the cpu controller is mounted";
            return null;
        }

        why = string.Empty;
        return Under(mountPoint, mountRoot, OwnCgroup(File.ReadAllText("/proc/self/cgroup"), "cpu"), inner);
    }

    /// <summary>Whether <paramref name="dir"/> is in a cgroup v2 hierarchy (else v1).</summary>
    public static bool IsV2(string dir) => File.Exists(Path.Combine(dir, "cgroup.controllers"));

    // The directory of cgroup path inner: an absolute one below the mount, a relative one below own (the
    // runtime's cgroup, a path in the hierarchy), the mount showing the hierarchy from mountRoot down.
    internal static string Under(string mountPoint, string mountRoot, string? own, string inner)
    {
        string path = inner.StartsWith('/') ? inner : (own ?? "/").TrimEnd('/') + "/" + inner;
        if (mountRoot != "/" && path.StartsWith(mountRoot, StringComparison.Ordinal))
        {
            path = path[mountRoot.Length..];
        }

        string clean = Path.GetFullPath(path.StartsWith('/') ? path : "/" + path);
        return clean == "/" ? mountPoint : mountPoint + clean;
    }

    /// <summary>The process's cgroup in the v1 hierarchy of <paramref name="controller"/> (null: the v2 line) of /proc/self/cgroup.</summary>
    internal static string? OwnCgroup(string procCgroup, string? controller)
    {
        foreach (string line in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split(':', 3);
            if (f.Length == 3 && (controller == null ? f[0] == "0" && f[1].Length == 0 : Array.IndexOf(f[1].Split(','), controller) >= 0))
            {
                return f[2];
            }
        }

        return null;
    }

    /// <summary>The mount point and root of the v1 hierarchy that has the cpu controller, from /proc/self/mountinfo.</summary>
    internal static (string MountPoint, string MountRoot)? FindV1Mount(string mountinfo)
    {
        foreach (string line in mountinfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] halves = line.Split(" - ", 2);
            string[] f = halves[0].Split(' ');
            string[] after = halves.Length == 2 ? halves[1].Split(' ') : [];
            if (f.Length >= 5 && after.Length >= 3 && after[0] == "cgroup" && Array.IndexOf(after[2].Split(','), "cpu") >= 0)
            {
                return (Unescape(f[4]), Unescape(f[3]));
            }
        }

        return null;
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }

        var b = new System.Text.StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && int.TryParse(s.AsSpan(i + 1, 3), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                b.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                b.Append(s[i]);
            }
        }

        return b.ToString();
    }

    /// <summary>
    /// Makes <paramref name="dir"/> (and its missing parents; in v2 with the cpu controller enabled down to it), as
    /// runc's cgroup manager does; null or the failure.
    /// </summary>
    public static string? Make(string dir)
    {
        try
        {
            if (dir.StartsWith(Root + "/", StringComparison.Ordinal) && File.Exists(Root + "/cgroup.controllers"))
            {
                // v2: every level above the leaf hands the cpu controller down (runc's CreateCgroupPath).
                string current = Root;
                foreach (string part in dir[Root.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries))
                {
                    File.WriteAllText(Path.Combine(current, "cgroup.subtree_control"), "+cpu");
                    current = Path.Combine(current, part);
                    Directory.CreateDirectory(current);
                }
            }
            else
            {
                Directory.CreateDirectory(dir);
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"mkdir {dir}: {e.Message}";
        }
    }

    /// <summary>
    /// Writes the CPU settings into <paramref name="dir"/> as runc's cgroup managers write them: 0 (or null) leaves a
    /// setting as it is; a quota of -1 is no quota. v1: cpu.shares (read back: the kernel clamps it, and runc fails
    /// then), cpu.cfs_period_us, cpu.cfs_quota_us. v2: cpu.weight from the shares (runc's conversion), cpu.max.
    /// Null or the failure.
    /// </summary>
    public static string? SetCpu(string dir, ulong shares, long quota, ulong period)
    {
        try
        {
            if (IsV2(dir))
            {
                if (shares != 0)
                {
                    Write(dir, "cpu.weight", Weight(shares).ToString(CultureInfo.InvariantCulture));
                }

                if (quota != 0 || period != 0)
                {
                    // As runc writes it: the period only when given (the kernel keeps the one in force).
                    string max = quota > 0 ? quota.ToString(CultureInfo.InvariantCulture) : "max";
                    if (period != 0)
                    {
                        max += " " + period.ToString(CultureInfo.InvariantCulture);
                    }

                    Write(dir, "cpu.max", max);
                }

                return null;
            }

            if (shares != 0)
            {
                Write(dir, "cpu.shares", shares.ToString(CultureInfo.InvariantCulture));
                ulong applied = ulong.Parse(Read(dir, "cpu.shares"), CultureInfo.InvariantCulture);
                if (shares > applied)
                {
                    return $"the maximum allowed cpu-shares is {applied.ToString(CultureInfo.InvariantCulture)}";
                }

                if (shares < applied)
                {
                    return $"the minimum allowed cpu-shares is {applied.ToString(CultureInfo.InvariantCulture)}";
                }
            }

            if (period != 0)
            {
                Write(dir, "cpu.cfs_period_us", period.ToString(CultureInfo.InvariantCulture));
            }

            if (quota != 0)
            {
                Write(dir, "cpu.cfs_quota_us", quota.ToString(CultureInfo.InvariantCulture));
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return e.Message;
        }
    }

    /// <summary>runc's cgroup v2 conversion of cpu.shares (2..262144) to cpu.weight (1..10000).</summary>
    public static ulong Weight(ulong shares)
    {
        ulong s = Math.Clamp(shares, 2UL, 262144UL);
        return 1 + ((s - 2) * 9999 / 262142);
    }

    /// <summary>Moves the calling process (all its threads) into <paramref name="dir"/>; null or the failure.</summary>
    public static string? Join(string dir)
    {
        try
        {
            Write(dir, "cgroup.procs", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot join the cgroup {dir}: {e.Message}";
        }
    }

    /// <summary>
    /// Removes <paramref name="dir"/> once the sandbox's last host process has left it (they end just after the
    /// container's pid: the jailed Sentry's PID namespace dies with it); false if it is still busy after a while.
    /// </summary>
    public static bool Remove(string dir)
    {
        for (int i = 0; i < 500; i++)
        {
            try
            {
                Directory.Delete(dir);
                return true;
            }
            catch (DirectoryNotFoundException)
            {
                return true;
            }
            catch (IOException)
            {
                System.Threading.Thread.Sleep(10);
            }
        }

        return false;
    }

    private static void Write(string dir, string file, string value)
    {
        // Unbuffered: the kernel's refusal of a value is the write's error.
        using var s = new FileStream(Path.Combine(dir, file), FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
        byte[] bytes = System.Text.Encoding.ASCII.GetBytes(value);
        s.Write(bytes);
    }

    private static string Read(string dir, string file) => File.ReadAllText(Path.Combine(dir, file)).Trim();
}
