using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.Json;
using System.Threading;
using Moat.Cli.CommandLine;

namespace Moat.Cli.Oci;

/// <summary>
/// events: runc's JSON lines, from the Sentry's own accounting instead of cgroup files. <c>--stats</c> prints
/// one <c>{"type":"stats","id":ID,"data":{...}}</c>; without it one every <c>--interval</c> (5s), and an
/// <c>{"type":"oom","id":ID}</c> as soon as the memory cap has killed a process, until the container stops.
/// </summary>
internal static partial class RuntimeCommand
{
    // What runc reports (cgroup v1) as the limit of an unlimited memory cgroup: the largest page-aligned long.
    private const ulong NoMemoryLimit = 9223372036854771712;

    // How often the stream looks for an OOM kill between two stats.
    private const int OomPollMs = 100;

    private static int Events(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        TimeSpan interval = TimeSpan.FromSeconds(5);
        if (f.Get("interval") is string text && !OciUnits.TryParseDuration(text, out interval))
        {
            return g.Log.Error($"time: invalid duration \"{text}\"");
        }

        if (interval <= TimeSpan.Zero)
        {
            return g.Log.Error("duration interval must be greater than 0");
        }

        if (g.Store.Status(r) == "stopped")
        {
            return g.Log.Error("container with id " + r.Id + " is not running");
        }

        // A further container of a pod reports its pod's counters: they are the one sandbox's.
        string dir = ControlOf(g, r).Dir;
        if (f.Has("stats"))
        {
            long[]? once = StatsOf(dir);
            if (once == null)
            {
                return g.Log.Error("container with id " + r.Id + " is not running");
            }

            WriteStats(r.Id, once);
            return 0;
        }

        long oomSeen = -1;
        var clock = Stopwatch.StartNew();
        TimeSpan next = interval;
        while (StatsOf(dir) is long[] stats)
        {
            long oom = stats[6];
            if (oomSeen >= 0 && oom > oomSeen)
            {
                WriteEvent(r.Id, "oom", null);
            }

            oomSeen = oom;
            if (clock.Elapsed >= next)
            {
                WriteStats(r.Id, stats);
                next += interval;
            }

            Thread.Sleep(OomPollMs);
        }

        // The container has stopped: runc's stream ends too (its OOM notifier closes with the cgroup).
        return 0;
    }

    // The sandbox's counters (SandboxServer's "stats" order), or null once it no longer answers.
    private static long[]? StatsOf(string dir)
    {
        string? reply = ControlChannel.Request(dir, "stats");
        if (reply == null || !reply.StartsWith("ok ", StringComparison.Ordinal))
        {
            return null;
        }

        string[] words = reply[3..].Split(' ');
        var values = new long[words.Length];
        for (int i = 0; i < words.Length; i++)
        {
            // The memory counters are unsigned: one too large for a long is no limit.
            values[i] = ulong.TryParse(words[i], NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? (long)Math.Min(v, long.MaxValue)
                : long.Parse(words[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        return values.Length >= 9 ? values : null;
    }

    // runc's types.Stats, with what the Sentry counts: cpu (the application's time), memory (the sandbox's cap
    // and usage), pids; the controllers moat has no counterpart for are empty, as runc leaves absent ones.
    private static void WriteStats(string id, long[] s)
    {
        WriteEvent(id, "stats", w =>
        {
            w.WriteStartObject("cpu");
            w.WriteStartObject("usage");
            w.WriteNumber("total", s[0] + s[1]);
            w.WriteNumber("kernel", s[1]);
            w.WriteNumber("user", s[0]);
            w.WriteEndObject();
            w.WriteStartObject("throttling");
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("memory");
            w.WriteStartObject("usage");
            // The cgroup keeps its limit in pages: runc reads back the bytes rounded down.
            w.WriteNumber("limit", s[4] == 0 ? NoMemoryLimit : (ulong)s[4] & ~4095UL);
            w.WriteNumber("usage", s[2]);
            w.WriteNumber("max", s[3]);
            w.WriteNumber("failcnt", s[5]);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("pids");
            w.WriteNumber("current", s[7]);
            if (s[8] > 0)
            {
                w.WriteNumber("limit", s[8]);
            }

            w.WriteEndObject();
            foreach (string empty in (string[])["blkio", "hugetlb", "intel_rdt"])
            {
                w.WriteStartObject(empty);
                w.WriteEndObject();
            }

            w.WriteNull("network_interfaces");
        });
    }

    // One line of runc's event JSON: {"type":...,"id":...[,"data":{...}]}.
    private static void WriteEvent(string id, string type, Action<Utf8JsonWriter>? data)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteString("id", id);
            if (data != null)
            {
                w.WriteStartObject("data");
                data(w);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        Console.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        Console.Out.Flush();
    }
}
