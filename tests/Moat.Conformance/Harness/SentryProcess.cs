using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Moat.Conformance.Harness;

/// <summary>Finds the Sentry of a running <c>moat do</c> on the host and reads its memory use.</summary>
public static class SentryProcess
{
    /// <summary>
    /// The Sentry below (or at) <paramref name="moatPid"/>: the nearest process of the tree that maps the
    /// MemoryFile and is not a stub. That is <c>moat do</c> itself when it runs the sandbox, or the child it
    /// starts the Sentry in (confined); the gofer maps no MemoryFile, and stubs run a memfd executable.
    /// </summary>
    public static int? Find(int moatPid)
    {
        var todo = new Queue<(int Pid, int Depth)>([(moatPid, 0)]);
        while (todo.Count > 0)
        {
            (int pid, int depth) = todo.Dequeue();
            if (MapsMemoryFile(pid) && !IsStub(pid))
            {
                return pid;
            }

            if (depth < 3)
            {
                foreach (int child in Children(pid))
                {
                    todo.Enqueue((child, depth + 1));
                }
            }
        }

        return null;
    }

    /// <summary>Whether the Sentry runs on the JIT (the build's apphost or moat.dll) rather than the Native AOT binary.</summary>
    public static bool IsJit(int pid) =>
        File.ReadLines($"/proc/{pid}/maps").Any(l => l.EndsWith("/libclrjit.so", StringComparison.Ordinal));

    /// <summary>A field of /proc/PID/status in KiB (VmRSS, RssAnon, RssFile, RssShmem).</summary>
    public static long StatusKiB(int pid, string field)
    {
        string line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', '\t').Where(s => s.Length > 0).ElementAt(1), CultureInfo.InvariantCulture);
    }

    private static IEnumerable<int> Children(int pid)
    {
        var result = new List<int>();
        try
        {
            foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                foreach (string c in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    result.Add(int.Parse(c, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process or one of its threads ended while we looked.
        }

        return result;
    }

    private static bool MapsMemoryFile(int pid)
    {
        try
        {
            return File.ReadLines($"/proc/{pid}/maps").Any(l => l.EndsWith("/memfd:moat-memory (deleted)", StringComparison.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool IsStub(int pid)
    {
        try
        {
            string? exe = new FileInfo($"/proc/{pid}/exe").LinkTarget;
            return exe == null || exe.StartsWith("/memfd:", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }
}
