using System;
using System.Globalization;
using System.IO;

namespace Moat.Cli.Oci;

/// <summary>Facts about host processes from /proc: whether a pid still names the process we started.</summary>
internal static class HostPid
{
    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks), or 0 when the process is gone.</summary>
    public static ulong StartTime(int pid) => ReadStat(pid, out char state, out ulong start) && state is not ('Z' or 'X') ? start : 0;

    /// <summary>Whether <paramref name="pid"/> is a live (not zombie) process that started at <paramref name="start"/>.</summary>
    public static bool IsAlive(int pid, ulong start) =>
        pid > 0 && ReadStat(pid, out char state, out ulong s) && state is not ('Z' or 'X') && (start == 0 || s == start);

    private static bool ReadStat(int pid, out char state, out ulong start)
    {
        state = '?';
        start = 0;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // comm (field 2) may hold spaces and parentheses: the fields after it start past the last ')'.
        int close = text.LastIndexOf(')');
        if (close < 0)
        {
            return false;
        }

        string[] f = text[(close + 2)..].Split(' ');
        if (f.Length < 20 || f[0].Length != 1)
        {
            return false;
        }

        state = f[0][0];
        return ulong.TryParse(f[19], NumberStyles.None, CultureInfo.InvariantCulture, out start);
    }
}
