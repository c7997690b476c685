using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace Moat.Bench.Running;

/// <summary>
/// Sums the proportional set size (PSS) of a process and all its descendants. PSS divides each shared page
/// among the processes that map it, so memory shared between the Sentry and the stubs (the MemoryFile) or
/// between processes of one sandbox counts once, not once per process.
/// </summary>
public static class MemoryProbe
{
    public static double TreePssMiB(int rootPid)
    {
        long kib = 0;
        foreach (int pid in Descendants(rootPid))
        {
            kib += PssKiB(pid);
        }

        return kib / 1024.0;
    }

    /// <summary>The pid and every process below it in the host's process tree.</summary>
    public static List<int> Descendants(int rootPid)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            int ppid = ParentOf(pid);
            if (ppid > 0)
            {
                if (!children.TryGetValue(ppid, out List<int>? list))
                {
                    children[ppid] = list = [];
                }

                list.Add(pid);
            }
        }

        var result = new List<int>();
        var todo = new Stack<int>();
        todo.Push(rootPid);
        while (todo.Count > 0)
        {
            int pid = todo.Pop();
            result.Add(pid);
            if (children.TryGetValue(pid, out List<int>? kids))
            {
                foreach (int k in kids)
                {
                    todo.Push(k);
                }
            }
        }

        return result;
    }

    private static int ParentOf(int pid)
    {
        try
        {
            // The comm field may hold spaces and parentheses: the fields that follow start after the last ')'.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(rest[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }

    private static long PssKiB(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(4).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
