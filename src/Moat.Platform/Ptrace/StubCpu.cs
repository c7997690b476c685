using System;
using System.Globalization;
using System.IO;

namespace Moat.Platform.Ptrace;

/// <summary>
/// Reads the CPU time of a stub process or thread from the host's /proc stat line: the app's instructions
/// run in the stub, so its utime and stime are the app's. The Sentry reads only its own children here.
/// </summary>
internal static class StubCpu
{
    public static (long User, long System) Read(string statPath)
    {
        string line;
        try
        {
            line = File.ReadAllText(statPath);
        }
        catch (IOException)
        {
            return (0, 0);
        }

        // pid (comm) state ppid ... utime is field 14, stime 15; comm may hold spaces, so count after ')'.
        int close = line.LastIndexOf(')');
        if (close < 0)
        {
            return (0, 0);
        }

        string[] f = line[(close + 2)..].Split(' ');
        if (f.Length < 13)
        {
            return (0, 0);
        }

        return (long.Parse(f[11], CultureInfo.InvariantCulture), long.Parse(f[12], CultureInfo.InvariantCulture));
    }
}
