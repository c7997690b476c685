using System;
using System.Collections.Generic;
using System.Globalization;

namespace Moat.Bench.Workloads;

/// <summary>The suite: every workload <c>moat bench</c> knows, in report order.</summary>
public static class WorkloadCatalog
{
    private const long MiB = 1 << 20;

    public static IReadOnlyList<Workload> All { get; } = Build();

    /// <summary>The workloads whose names are in <paramref name="names"/> (all when null), in suite order.</summary>
    public static IReadOnlyList<Workload> Select(IReadOnlyCollection<string>? names)
    {
        if (names == null)
        {
            return All;
        }

        var unknown = new HashSet<string>(names, StringComparer.Ordinal);
        var chosen = new List<Workload>();
        foreach (Workload w in All)
        {
            if (unknown.Remove(w.Name))
            {
                chosen.Add(w);
            }
        }

        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown workload(s): {string.Join(", ", unknown)}");
        }

        return chosen;
    }

    private static List<Workload> Build()
    {
        var list = new List<Workload>();

        // A program that prints ns per operation; "{n}" in its words is the count: full, or quick for --quick.
        void Program(string name, string cls, string what, string unit, long full, long quick, params string[] words) =>
            list.Add(new Workload(name, cls, what, unit, MeasureKind.Reported, Fill(words, full), Fill(words, quick)));
        void Command(string name, string cls, string what, string[] full, string[] quick) =>
            list.Add(new Workload(name, cls, what, "ms", MeasureKind.WallClock, full, quick));

        Program("getpid", "syscalls", "getpid: served inside the sandbox kernel", "ns/op", 200_000, 20_000, "{bin:syscalls}", "getpid", "{n}");
        Program("pread-host", "syscalls", "pread of 1 byte from a host file: needs a host syscall", "ns/op", 100_000, 10_000, "{bin:syscalls}", "hostread", "{n}", "{hostfile}");
        Program("clock_gettime", "syscalls", "clock_gettime(CLOCK_MONOTONIC) through libc (the vDSO)", "ns/op", 200_000, 20_000, "{bin:syscalls}", "clock", "{n}");

        foreach ((string label, long size) in new[] { ("4k", 4096L), ("64k", 64 * 1024L), ("1m", MiB), ("16m", 16 * MiB) })
        {
            Program("mmap-" + label, "memory", $"mmap + touch every page + munmap of {label.ToUpperInvariant()}iB, 1 GiB in all", "ns/op",
                1024 * MiB, Math.Max(size * 64, 64 * MiB), "{bin:memory}", "mmap", size.ToString(CultureInfo.InvariantCulture), "{n}");
        }

        Program("page-faults", "memory", "first touch of each page of 256 MiB of fresh anonymous memory", "ns/page", 256 * MiB, 64 * MiB, "{bin:memory}", "faults", "{n}");
        Program("malloc-churn", "memory", "malloc/free of 16 B-64 KiB blocks over 1024 live slots", "ns/op", 2_000_000, 200_000, "{bin:memory}", "malloc", "{n}");

        const string Shm = "/dev/shm/moat-bench-small";
        Program("open-host", "files", "open + close of a host file (through the gofer)", "ns/op", 20_000, 2_000, "{bin:files}", "open", "{n}", "{hostfile}");
        Program("stat-host", "files", "stat of a host file", "ns/op", 20_000, 2_000, "{bin:files}", "stat", "{n}", "{hostfile}");
        Program("open-tmpfs", "files", "open + close of a file in /dev/shm (tmpfs everywhere)", "ns/op", 20_000, 2_000, "{bin:files}", "open", "{n}", Shm);
        Program("stat-tmpfs", "files", "stat of a file in /dev/shm", "ns/op", 20_000, 2_000, "{bin:files}", "stat", "{n}", Shm);
        Program("read-4k-host", "files", "pread of 4 KiB from a host file", "ns/op", 50_000, 5_000, "{bin:files}", "read4k", "{n}", "{data}");
        Program("write-4k-tmpfs", "files", "pwrite of 4 KiB to a file in /dev/shm", "ns/op", 50_000, 5_000, "{bin:files}", "write4k", "{n}", "/dev/shm/moat-bench-rw");
        Program("seqread-host", "files", "sequential 1 MiB reads of a 64 MiB host file", "ns/MiB", 64, 16, "{bin:files}", "seqread", "{n}", "{data}");
        Program("seqwrite-tmpfs", "files", "sequential 1 MiB writes of 64 MiB to /dev/shm", "ns/MiB", 64, 16, "{bin:files}", "seqwrite", "{n}", "/dev/shm/moat-bench-seq");
        Program("create-unlink", "files", "create, write 1 byte, close, unlink in /dev/shm", "ns/op", 5_000, 500, "{bin:files}", "create", "{n}", "/dev/shm");

        Program("fork-exit-wait", "processes", "fork + _exit + waitpid", "ns/op", 500, 50, "{bin:processes}", "fork", "{n}");
        Program("fork-exec-wait", "processes", "fork + execve of a static program + waitpid", "ns/op", 200, 20, "{bin:processes}", "exec", "{n}");
        Program("thread-create-join", "processes", "pthread_create + pthread_join", "ns/op", 1_000, 100, "{bin:processes}", "thread", "{n}");

        Program("pipe-pingpong", "ipc", "1-byte round trip between two processes over pipes", "ns/op", 20_000, 2_000, "{bin:ipc}", "pipe", "pingpong", "{n}");
        Program("pipe-stream", "ipc", "64 KiB writes through a pipe to another process", "ns/MiB", 512, 64, "{bin:ipc}", "pipe", "stream", "{n}");
        Program("unix-pingpong", "ipc", "1-byte round trip over a unix socketpair", "ns/op", 20_000, 2_000, "{bin:ipc}", "unix", "pingpong", "{n}");
        Program("unix-stream", "ipc", "64 KiB writes through a unix socketpair", "ns/MiB", 512, 64, "{bin:ipc}", "unix", "stream", "{n}");
        Program("tcp-pingpong", "ipc", "1-byte round trip over a TCP connection on 127.0.0.1", "ns/op", 20_000, 2_000, "{bin:ipc}", "tcp", "pingpong", "{n}");
        Program("tcp-stream", "ipc", "64 KiB writes through a TCP connection on 127.0.0.1", "ns/MiB", 512, 64, "{bin:ipc}", "tcp", "stream", "{n}");

        // A client inside receives {n} MiB from the bench's server on the host (BenchNetwork): native from a
        // namespace behind a veth pair, Moat through --network=sandbox's TAP device and its user-space stack.
        string[] download = ["{bin:net}", "download", "{server}", "{port}", "{n}"];
        list.Add(new Workload("download", "network",
            "receiving over TCP from a server on the host: native in a namespace behind a veth, Moat with --network=sandbox (its TAP)", "ns/MiB",
            MeasureKind.Reported, Fill(download, 1024), Fill(download, 64))
        {
            MoatOptions = ["--network=sandbox"],
            Network = WorkloadNetwork.Outside,
        });

        // redis-server inside, redis-benchmark on the host against the address the server's side printed: native
        // in the namespace (its veth), Moat's sandbox address (its TAP); the host client ends the server.
        string[] redisServer = ["/bin/sh", "-c", RedisServerOutside, "redis-get-outside", "{bin:net}", "{server}"];
        list.Add(new Workload("redis-get-outside", "network",
            "redis-benchmark -t get (50 connections) on the host against redis-server inside: native in a namespace behind a veth, Moat with --network=sandbox", "ns/op",
            MeasureKind.HostClient, redisServer, redisServer)
        {
            MoatOptions = ["--network=sandbox"],
            Network = WorkloadNetwork.Outside,
            HostCommand = ["/bin/sh", "-c", RedisBenchmarkHost, "redis-get-outside", "{inside}", "{inside-port}", "100000"],
            QuickHostCommand = ["/bin/sh", "-c", RedisBenchmarkHost, "redis-get-outside", "{inside}", "{inside-port}", "20000"],
        });

        Command("start-true", "programs", "start-up and exit of /bin/true", ["/bin/true"], ["/bin/true"]);
        string[] imports = ["/usr/bin/python3", "-c", "import json, decimal, asyncio, email, sqlite3"];
        Command("python-imports", "programs", "python3 importing json, decimal, asyncio, email, sqlite3", imports, imports);
        Command("shell-loop", "programs", "/bin/sh running 500 small commands (echo | cat)",
            ["/bin/sh", "-c", ShellLoop(500)], ["/bin/sh", "-c", ShellLoop(50)]);
        Command("sqlite-inserts", "programs", "python3 sqlite3: 100k inserts in one transaction into /dev/shm",
            ["/usr/bin/python3", "-c", SqliteInserts(100_000)], ["/usr/bin/python3", "-c", SqliteInserts(10_000)]);
        Program("redis-get", "programs", "redis-server and redis-benchmark -t get (50 connections) on 127.0.0.1, both in the sandbox", "ns/op",
            100_000, 20_000, "/bin/sh", "-c", RedisGet, "redis-get", "{n}");
        list.Add(new Workload("memory-overhead", "memory", "proportional set size of every process, a program sleeping", "MiB",
            MeasureKind.Memory, ["{bin:idle}", "3"], ["{bin:idle}", "2"]));
        list.Add(new Workload("memory-after-burst", "memory", "proportional set size of every process, idle after 200 threads, 1000 processes and 10k files", "MiB",
            MeasureKind.Memory, ["{bin:idle}", "burst", "3"], ["{bin:idle}", "burst", "2"]));
        return list;
    }

    private static string[] Fill(string[] words, long n)
    {
        var filled = new string[words.Length];
        for (int i = 0; i < words.Length; i++)
        {
            filled[i] = words[i] == "{n}" ? n.ToString(CultureInfo.InvariantCulture) : words[i];
        }

        return filled;
    }

    // Starts redis-server on a port of its own, waits for it, runs redis-benchmark for $1 GETs and prints ns per
    // request (1e9 / requests per second); then stops the server. Needs redis-server and redis-tools.
    private const string RedisGet =
        "p=$((20000 + $$ % 10000)); redis-server --port $p --bind 127.0.0.1 --save '' --appendonly no >/dev/null & s=$!; " +
        "i=0; until redis-cli -p $p ping >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 400 ] && { kill $s; exit 1; }; sleep 0.05; done; " +
        "redis-benchmark -p $p -t get -n $1 -q | tr '\\r' '\\n' | awk '/GET: [0-9.]+ requests/ { sub(/.*GET: /, \"\"); v = $1 } END { if (v > 0) printf \"%.1f\\n\", 1e9 / v; else exit 1 }'; " +
        "r=$?; kill $s; wait $s; exit $r";

    // Inside: redis-server on every address, then "ADDRESS PORT" ($1: the net program, whose addr-to finds the
    // address the host reaches, $2: a host address); it runs until the host client shuts it down.
    private const string RedisServerOutside =
        "p=$((20000 + $$ % 10000)); redis-server --port $p --bind 0.0.0.0 --protected-mode no --save '' --appendonly no >/dev/null & s=$!; " +
        "i=0; until redis-cli -p $p ping >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 400 ] && { kill $s; exit 1; }; sleep 0.05; done; " +
        "a=$(\"$1\" addr-to \"$2\") || { kill $s; exit 1; }; echo \"$a $p\"; wait $s";

    // On the host: $3 GETs against $1:$2, ns per request as RedisGet's, then the server's shutdown.
    private const string RedisBenchmarkHost =
        "redis-benchmark -h $1 -p $2 -t get -n $3 -q | tr '\\r' '\\n' | awk '/GET: [0-9.]+ requests/ { sub(/.*GET: /, \"\"); v = $1 } END { if (v > 0) printf \"%.1f\\n\", 1e9 / v; else exit 1 }'; " +
        "r=$?; redis-cli -h $1 -p $2 shutdown nosave >/dev/null 2>&1; exit $r";

    private static string ShellLoop(int n) => $"i=0; while [ $i -lt {n} ]; do echo $i | cat >/dev/null; i=$((i+1)); done";

    private static string SqliteInserts(int n) =>
        "import os, sqlite3\n" +
        "p = '/dev/shm/moat-bench-%d.db' % os.getpid()\n" +
        "c = sqlite3.connect(p)\n" +
        "c.execute('create table t (k integer primary key, v text)')\n" +
        $"c.executemany('insert into t (v) values (?)', (('row %d' % i,) for i in range({n})))\n" +
        "c.commit(); c.close(); os.unlink(p)\n";
}
