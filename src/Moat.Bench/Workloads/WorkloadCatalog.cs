using System;
using System.Collections.Generic;

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
        void Program(string name, string cls, string what, string unit, string[] full, string[] quick) =>
            list.Add(new Workload(name, cls, what, unit, MeasureKind.Reported, full, quick));
        void Command(string name, string cls, string what, string[] full, string[] quick) =>
            list.Add(new Workload(name, cls, what, "ms", MeasureKind.WallClock, full, quick));

        Program("getpid", "syscalls", "getpid: served inside the sandbox kernel", "ns/op",
            ["{bin:syscalls}", "getpid", "200000"], ["{bin:syscalls}", "getpid", "20000"]);
        Program("pread-host", "syscalls", "pread of 1 byte from a host file: needs a host syscall", "ns/op",
            ["{bin:syscalls}", "hostread", "100000", "{hostfile}"], ["{bin:syscalls}", "hostread", "10000", "{hostfile}"]);
        Program("clock_gettime", "syscalls", "clock_gettime(CLOCK_MONOTONIC) through libc (vDSO natively)", "ns/op",
            ["{bin:syscalls}", "clock", "200000"], ["{bin:syscalls}", "clock", "20000"]);

        foreach ((string label, long size) in new[] { ("4k", 4096L), ("64k", 64 * 1024L), ("1m", MiB), ("16m", 16 * MiB) })
        {
            Program("mmap-" + label, "memory", $"mmap + touch every page + munmap of {label.ToUpperInvariant()}iB, 1 GiB in all", "ns/op",
                ["{bin:memory}", "mmap", size.ToString(), (1024 * MiB).ToString()],
                ["{bin:memory}", "mmap", size.ToString(), (Math.Max(size * 64, 64 * MiB)).ToString()]);
        }

        Program("page-faults", "memory", "first touch of each page of 256 MiB of fresh anonymous memory", "ns/page",
            ["{bin:memory}", "faults", (256 * MiB).ToString()], ["{bin:memory}", "faults", (64 * MiB).ToString()]);
        Program("malloc-churn", "memory", "malloc/free of 16 B-64 KiB blocks over 1024 live slots", "ns/op",
            ["{bin:memory}", "malloc", "2000000"], ["{bin:memory}", "malloc", "200000"]);

        Program("open-host", "files", "open + close of a host file (through the gofer)", "ns/op",
            ["{bin:files}", "open", "20000", "{hostfile}"], ["{bin:files}", "open", "2000", "{hostfile}"]);
        Program("stat-host", "files", "stat of a host file", "ns/op",
            ["{bin:files}", "stat", "20000", "{hostfile}"], ["{bin:files}", "stat", "2000", "{hostfile}"]);
        Program("open-tmpfs", "files", "open + close of a file in /dev/shm (tmpfs everywhere)", "ns/op",
            ["{bin:files}", "open", "20000", "/dev/shm/moat-bench-small"], ["{bin:files}", "open", "2000", "/dev/shm/moat-bench-small"]);
        Program("stat-tmpfs", "files", "stat of a file in /dev/shm", "ns/op",
            ["{bin:files}", "stat", "20000", "/dev/shm/moat-bench-small"], ["{bin:files}", "stat", "2000", "/dev/shm/moat-bench-small"]);
        Program("read-4k-host", "files", "pread of 4 KiB from a host file", "ns/op",
            ["{bin:files}", "read4k", "50000", "{data}"], ["{bin:files}", "read4k", "5000", "{data}"]);
        Program("write-4k-tmpfs", "files", "pwrite of 4 KiB to a file in /dev/shm", "ns/op",
            ["{bin:files}", "write4k", "50000", "/dev/shm/moat-bench-rw"], ["{bin:files}", "write4k", "5000", "/dev/shm/moat-bench-rw"]);
        Program("seqread-host", "files", "sequential 1 MiB reads of a 64 MiB host file", "ns/MiB",
            ["{bin:files}", "seqread", "64", "{data}"], ["{bin:files}", "seqread", "16", "{data}"]);
        Program("seqwrite-tmpfs", "files", "sequential 1 MiB writes of 64 MiB to /dev/shm", "ns/MiB",
            ["{bin:files}", "seqwrite", "64", "/dev/shm/moat-bench-seq"], ["{bin:files}", "seqwrite", "16", "/dev/shm/moat-bench-seq"]);
        Program("create-unlink", "files", "create, write 1 byte, close, unlink in /dev/shm", "ns/op",
            ["{bin:files}", "create", "5000", "/dev/shm"], ["{bin:files}", "create", "500", "/dev/shm"]);

        Program("fork-exit-wait", "processes", "fork + _exit + waitpid", "ns/op",
            ["{bin:processes}", "fork", "500"], ["{bin:processes}", "fork", "50"]);
        Program("fork-exec-wait", "processes", "fork + execve of a static program + waitpid", "ns/op",
            ["{bin:processes}", "exec", "200"], ["{bin:processes}", "exec", "20"]);
        Program("thread-create-join", "processes", "pthread_create + pthread_join", "ns/op",
            ["{bin:processes}", "thread", "1000"], ["{bin:processes}", "thread", "100"]);

        Program("pipe-pingpong", "ipc", "1-byte round trip between two processes over pipes", "ns/op",
            ["{bin:ipc}", "pipe", "pingpong", "20000"], ["{bin:ipc}", "pipe", "pingpong", "2000"]);
        Program("pipe-stream", "ipc", "64 KiB writes through a pipe to another process", "ns/MiB",
            ["{bin:ipc}", "pipe", "stream", "512"], ["{bin:ipc}", "pipe", "stream", "64"]);
        Program("unix-pingpong", "ipc", "1-byte round trip over a unix socketpair", "ns/op",
            ["{bin:ipc}", "unix", "pingpong", "20000"], ["{bin:ipc}", "unix", "pingpong", "2000"]);
        Program("unix-stream", "ipc", "64 KiB writes through a unix socketpair", "ns/MiB",
            ["{bin:ipc}", "unix", "stream", "512"], ["{bin:ipc}", "unix", "stream", "64"]);

        Command("start-true", "programs", "start-up and exit of /bin/true", ["/bin/true"], ["/bin/true"]);
        Command("python-imports", "programs", "python3 importing json, decimal, asyncio, email, sqlite3",
            ["/usr/bin/python3", "-c", "import json, decimal, asyncio, email, sqlite3"],
            ["/usr/bin/python3", "-c", "import json, decimal, asyncio, email, sqlite3"]);
        Command("shell-loop", "programs", "/bin/sh running 500 small commands (echo | cat)",
            ["/bin/sh", "-c", ShellLoop(500)], ["/bin/sh", "-c", ShellLoop(50)]);
        Command("sqlite-inserts", "programs", "python3 sqlite3: 100k inserts in one transaction into /dev/shm",
            ["/usr/bin/python3", "-c", SqliteInserts(100_000)], ["/usr/bin/python3", "-c", SqliteInserts(10_000)]);
        list.Add(new Workload("memory-overhead", "memory", "proportional set size of every process, a program sleeping", "MiB",
            MeasureKind.Memory, ["{bin:idle}", "3"], ["{bin:idle}", "2"]));
        return list;
    }

    private static string ShellLoop(int n) => $"i=0; while [ $i -lt {n} ]; do echo $i | cat >/dev/null; i=$((i+1)); done";

    private static string SqliteInserts(int n) =>
        "import os, sqlite3\n" +
        "p = '/dev/shm/moat-bench-%d.db' % os.getpid()\n" +
        "c = sqlite3.connect(p)\n" +
        "c.execute('create table t (k integer primary key, v text)')\n" +
        $"c.executemany('insert into t (v) values (?)', (('row %d' % i,) for i in range({n})))\n" +
        "c.commit(); c.close(); os.unlink(p)\n";
}
