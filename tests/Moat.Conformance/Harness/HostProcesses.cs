using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace Moat.Conformance.Harness;

/// <summary>Host processes as /proc shows them: the tree below a process, their stat and command lines.</summary>
public static class HostProcesses
{
    public static List<int> Descendants(int root)
    {
        var parent = new Dictionary<int, int>();
        foreach (string d in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && Stat(pid) is string[] f)
            {
                parent[pid] = int.Parse(f[1], CultureInfo.InvariantCulture);
            }
        }

        var result = new List<int>();
        var todo = new Queue<int>([root]);
        while (todo.Count > 0)
        {
            int p = todo.Dequeue();
            foreach ((int child, int pp) in parent)
            {
                if (pp == p)
                {
                    result.Add(child);
                    todo.Enqueue(child);
                }
            }
        }

        return result;
    }

    /// <summary>The fields of /proc/PID/stat after the command name: state, ppid, ...</summary>
    public static string[]? Stat(int pid)
    {
        try
        {
            string s = File.ReadAllText($"/proc/{pid}/stat");
            return s[(s.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static string CmdLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
