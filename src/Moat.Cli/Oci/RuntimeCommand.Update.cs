using System;
using System.Globalization;
using System.IO;
using System.Text.Json;
using Moat.Cli.CommandLine;

namespace Moat.Cli.Oci;

/// <summary>
/// update: runc update's command line over the limits moat enforces. The memory limit and the pids limit
/// change in the running sandbox (0 or absent leaves one as it is, -1 removes it), and the memory+swap limit the
/// sandbox's cgroup shows (checked against the memory limit as runc checks it; the sandbox never swaps); the CPU
/// quota, period and shares are written into the sandbox's host cgroup (<see cref="HostCgroup"/>); a flag
/// for a control moat does not enforce (realtime cpu, cpuset, blkio, reservation, kernel memory, RDT) is refused by name. With
/// <c>--resources</c> (a file, or - for stdin) the other flags are ignored, as runc ignores them, and the
/// settings moat does not enforce are named in the log as create names them.
/// </summary>
internal static partial class RuntimeCommand
{
    private static int Update(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        long memory = 0;
        long pids = 0;
        long swap = 0;
        ulong shares = 0;
        long quota = 0;
        ulong period = 0;
        if (f.Get("resources") is string file)
        {
            OciResources? resources;
            try
            {
                string json = file == "-" ? Console.In.ReadToEnd() : File.ReadAllText(file);
                resources = JsonSerializer.Deserialize(json, OciJson.Default.OciResources);
            }
            catch (JsonException e)
            {
                return g.Log.Error("unable to parse the resources: " + e.Message);
            }

            var ignored = new System.Collections.Generic.List<string>();
            // The swap limit is checked by the sandbox, against the memory limit it will have.
            if (!OciResourceLimits.Read(resources, ignored, out memory, out pids, out string error, checkSwap: false))
            {
                return g.Log.Error(error);
            }

            swap = resources?.Memory?.Swap ?? 0;
            shares = resources?.Cpu?.Shares ?? 0;
            quota = resources?.Cpu?.Quota ?? 0;
            period = resources?.Cpu?.Period ?? 0;

            foreach (string setting in ignored)
            {
                g.Log.Write("warning", setting);
            }
        }
        else
        {
            foreach (string refused in RuntimeFlags.UpdateRefused)
            {
                if (f.Has(refused))
                {
                    return g.Log.Error($"--{refused} is not supported by moat: it enforces only the memory, pids and cpu limits");
                }
            }

            // runc's flags are Go integers: a bad one fails the whole update before anything changes.
            if (f.Get("cpu-share") is string cs && !ulong.TryParse(cs, NumberStyles.None, CultureInfo.InvariantCulture, out shares))
            {
                return g.Log.Error($"invalid value \"{cs}\" for flag -cpu-share: parse error");
            }

            if (f.Get("cpu-quota") is string cq && !long.TryParse(cq, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out quota))
            {
                return g.Log.Error($"invalid value \"{cq}\" for flag -cpu-quota: parse error");
            }

            if (f.Get("cpu-period") is string cp && !ulong.TryParse(cp, NumberStyles.None, CultureInfo.InvariantCulture, out period))
            {
                return g.Log.Error($"invalid value \"{cp}\" for flag -cpu-period: parse error");
            }

            if (f.Get("memory") is string m && !(m == "-1" ? (memory = -1) < 0 : OciUnits.TryParseRamBytes(m, out memory)))
            {
                return g.Log.Error($"invalid value for memory: invalid size: '{m}'");
            }

            if (f.Get("memory-swap") is string sw && !(sw == "-1" ? (swap = -1) < 0 : OciUnits.TryParseRamBytes(sw, out swap)))
            {
                return g.Log.Error($"invalid value for memory-swap: invalid size: '{sw}'");
            }

            if (f.Get("pids-limit") is string p && !long.TryParse(p, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out pids))
            {
                return g.Log.Error($"invalid value \"{p}\" for flag -pids-limit: parse error");
            }
        }

        if (memory < -1)
        {
            return g.Log.Error($"invalid memory limit {memory}");
        }

        if (g.Store.Status(r) == "stopped")
        {
            return g.Log.Error("container not running");
        }

        if (PodWide(g, r, "update") is int podWide)
        {
            return podWide;
        }

        int cpuStatus = UpdateCpu(g, r, shares, quota, period);
        if (cpuStatus != 0)
        {
            return cpuStatus;
        }

        string? reply = ControlChannel.Request(g.Store.Dir(r.Id), string.Create(CultureInfo.InvariantCulture, $"update {memory} {pids} {swap}"));
        return reply == "ok" ? 0 : g.Log.Error(ReplyError(reply));
    }
}
