using System;
using System.Collections.Generic;
using System.Globalization;

namespace Moat.Cli.Oci;

/// <summary>
/// ps's table, as runc prints it: the host's <c>ps</c> (with the arguments after the id, <c>-ef</c> by default),
/// its header and the lines of the container's host pids. Those are the sandbox process and the exec proxies:
/// the Sentry's tasks have no host process of their own (docs/oci.md says why).
/// </summary>
internal static partial class RuntimeCommand
{
    private static int PsTable(Globals g, List<int> pids, string[] psArgs)
    {
        string output;
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("ps") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (string a in psArgs)
            {
                start.ArgumentList.Add(a);
            }

            using var ps = System.Diagnostics.Process.Start(start)!;
            output = ps.StandardOutput.ReadToEnd();
            ps.WaitForExit();
            if (ps.ExitCode != 0)
            {
                return g.Log.Error($"ps: exit status {ps.ExitCode.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return g.Log.Error("ps: " + e.Message);
        }

        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        int column = lines.Length > 0 ? Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), "PID") : -1;
        if (column < 0)
        {
            return g.Log.Error("couldn't find PID field in ps output");
        }

        Console.Out.WriteLine(lines[0]);
        for (int i = 1; i < lines.Length; i++)
        {
            string[] fields = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > column && int.TryParse(fields[column], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pids.Contains(pid))
            {
                Console.Out.WriteLine(lines[i]);
            }
        }

        return 0;
    }
}
