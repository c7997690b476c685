using System;
using System.IO;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// containerd runs containers on Moat through its stock runc shim (<c>ctr run --runc-binary moat</c>).
/// Every test runs with runc too: the same assertions hold for both, so they test the runc contract,
/// not Moat's reading of it.
/// </summary>
public sealed class OciTests : IClassFixture<Containerd>
{
    private readonly Containerd _ctd;

    public OciTests(Containerd ctd)
    {
        _ctd = ctd;
    }

    /// <summary>The runtime binary for <paramref name="runtime"/>: the moat under test, or Debian's runc.</summary>
    private static string Binary(string runtime)
    {
        if (runtime == "runc")
        {
            return Containerd.Which("runc")!;
        }

        (string file, string[] prefix) = MoatCli.Command;
        if (prefix.Length == 0)
        {
            return file;
        }

        // moat runs as "dotnet moat.dll": the shim wants one executable.
        string script = Path.Combine(HostScratch.Root, "moat-runtime.sh");
        File.WriteAllText(script, $"#!/bin/sh\nexec '{file}' {string.Join(' ', Array.ConvertAll(prefix, p => $"'{p}'"))} \"$@\"\n");
        File.SetUnixFileMode(script, (UnixFileMode)0x1ED);
        return script;
    }

    private static string Name(string runtime, string what) => $"{runtime}-{what}-{Guid.NewGuid():N}"[..24];

    private RunResult Run(string runtime, string id, params string[] command)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        return _ctd.Ctr(["run", "--rm", "--runc-binary", Binary(runtime), Containerd.Image, id, .. command]);
    }

    [Fact]
    public void Run_DefaultSeccompProfile_DeniesWhatRuncDenies()
    {
        // containerd's own default profile (ctr run --seccomp), as a container gets it under Docker or Kubernetes.
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        string probe = HostScratch.NewDirectory("probe");
        SeccompProbe.Build(probe);
        var outputs = new string[2];
        string[] runtimes = ["runc", "moat"];
        for (int i = 0; i < runtimes.Length; i++)
        {
            RunResult r = _ctd.Ctr(["run", "--rm", "--seccomp", "--mount", $"type=bind,src={probe},dst=/probe,options=rbind:ro", "--runc-binary", Binary(runtimes[i]), Containerd.Image, Name(runtimes[i], "seccomp"), "/probe/probe"]);
            Assert.True(r.ExitCode == 0, runtimes[i] + ": " + r.Stderr);
            outputs[i] = r.StdoutText;
        }

        Assert.Contains("unshare user: errno 1\n", outputs[1], StringComparison.Ordinal);
        Assert.Contains("keyctl: errno 1\n", outputs[1], StringComparison.Ordinal);
        Assert.Contains("add_key: errno 1\n", outputs[1], StringComparison.Ordinal);
        Assert.Equal(outputs[0], outputs[1]);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Run_Echo_PrintsItsOutput(string runtime)
    {
        RunResult r = Run(runtime, Name(runtime, "echo"), "echo", "hello");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("hello\n", r.StdoutText);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Run_ExitStatus_IsTheContainers(string runtime)
    {
        RunResult r = Run(runtime, Name(runtime, "exit"), "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("out\n", r.StdoutText);
        Assert.Contains("err", r.Stderr);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Run_NetHost_BindsTheHostsResolverFiles(string runtime)
    {
        // ctr run --net-host binds the host's /etc/hosts and /etc/resolv.conf into the container as single files.
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        RunResult r = _ctd.Ctr(["run", "--rm", "--net-host", "--runc-binary", Binary(runtime), Containerd.Image, Name(runtime, "nethost"), "cat", "/etc/hosts"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(File.ReadAllText("/etc/hosts"), r.StdoutText);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Run_MissingBinary_FailsCreateWithTheMessage(string runtime)
    {
        RunResult r = Run(runtime, Name(runtime, "nope"), "no-such-program");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("OCI runtime create failed", r.Stderr);
        Assert.Contains("no-such-program", r.Stderr);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Detached_ExecPsKillDelete(string runtime)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        string id = Name(runtime, "d");
        RunResult r = _ctd.Ctr("run", "-d", "--runc-binary", Binary(runtime), Containerd.Image, id, "sleep", "60");
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            // The exec'd process shares the container's pid namespace: its pid 1 is the container's sleep.
            r = _ctd.Ctr("task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo from exec; cat /proc/1/cmdline");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("from exec\nsleep\u000060\u0000", r.StdoutText);

            r = _ctd.Ctr("task", "exec", "--exec-id", "e2", id, "sh", "-c", "exit 4");
            Assert.Equal(4, r.ExitCode);

            // A detached exec is a process of its own for the shim: listed by ps, and signalled by kill --exec-id.
            r = _ctd.Ctr("task", "exec", "-d", "--exec-id", "e3", id, "sleep", "30");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("ExecID:e3", _ctd.Ctr("task", "ps", id).StdoutText);
            r = _ctd.Ctr("task", "kill", "--exec-id", "e3", "-s", "SIGTERM", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            for (int i = 0; i < 100 && _ctd.Ctr("task", "ps", id).StdoutText.Contains("ExecID:e3", StringComparison.Ordinal); i++)
            {
                Thread.Sleep(50);
            }

            Assert.DoesNotContain("ExecID:e3", _ctd.Ctr("task", "ps", id).StdoutText);
            r = _ctd.Ctr("task", "exec", "--exec-id", "e4", id, "sh", "-c", "kill -TERM $$");
            Assert.Equal(128 + 15, r.ExitCode);

            string pid = TaskField(id, 1);
            Assert.Equal("RUNNING", TaskField(id, 2));
            r = _ctd.Ctr("task", "ps", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains(pid, r.StdoutText);

            // The container's init (pid 1 of its namespace) has no SIGTERM handler: the signal is not
            // delivered, and only SIGKILL ends it.
            r = _ctd.Ctr("task", "kill", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Thread.Sleep(300);
            Assert.Equal("RUNNING", TaskField(id, 2));
            r = _ctd.Ctr("task", "kill", "-s", "SIGKILL", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            for (int i = 0; i < 100 && TaskField(id, 2) != "STOPPED"; i++)
            {
                Thread.Sleep(50);
            }

            Assert.Equal("STOPPED", TaskField(id, 2));
            r = _ctd.Ctr("task", "delete", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(string.Empty, TaskField(id, 0));
        }
        finally
        {
            _ctd.Ctr("task", "delete", "--force", id);
            _ctd.Ctr("container", "delete", id);
        }
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void TwoContainers_RunSideBySide(string runtime)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        string[] ids = [Name(runtime, "a"), Name(runtime, "b")];
        try
        {
            for (int i = 0; i < 2; i++)
            {
                RunResult r = _ctd.Ctr("run", "-d", "--runc-binary", Binary(runtime), Containerd.Image, ids[i], "sleep", $"6{i}");
                Assert.True(r.ExitCode == 0, r.Stderr);
            }

            for (int i = 0; i < 2; i++)
            {
                // `run -d` can return while the runtime's init is still on its way to exec sleep (runc's
                // shows an empty cmdline then): look again for a while.
                RunResult r = default!;
                for (int attempt = 0; attempt < 40; attempt++)
                {
                    r = _ctd.Ctr("task", "exec", "--exec-id", "e" + attempt, ids[i], "cat", "/proc/1/cmdline");
                    if (r.ExitCode != 0 || r.StdoutText.Length > 0)
                    {
                        break;
                    }

                    Thread.Sleep(50);
                }

                Assert.True(r.ExitCode == 0, r.Stderr);
                Assert.Equal($"sleep\u00006{i}\u0000", r.StdoutText);
            }
        }
        finally
        {
            foreach (string id in ids)
            {
                _ctd.Ctr("task", "kill", "-s", "SIGKILL", id);
            }

            foreach (string id in ids)
            {
                for (int i = 0; i < 100 && TaskField(id, 2) is not ("STOPPED" or ""); i++)
                {
                    Thread.Sleep(50);
                }

                _ctd.Ctr("task", "delete", id);
                _ctd.Ctr("container", "delete", id);
            }
        }

        Assert.Equal(string.Empty, TaskField(ids[0], 0));
        Assert.Equal(string.Empty, TaskField(ids[1], 0));
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void RunTty_GivesAWorkingTerminal(string runtime)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        Assert.True(Containerd.Which("python3") != null, "python3 runs ctr on a terminal");

        // ctr puts its own terminal in raw mode and passes on the window size; the container's pty echoes
        // the typed line (canonical mode) and turns its newlines into CR LF.
        RunResult r = _ctd.CtrOnTerminal("hello\n", "/dev/pts/", "run", "-t", "--rm", "--runc-binary", Binary(runtime), Containerd.Image, Name(runtime, "tty"),
            "sh", "-c", "tty; read x; stty size; echo got $x; exit 3");
        Assert.True(r.ExitCode == 3, $"status {r.ExitCode}: {r.StdoutText.Replace("\r", "<CR>", StringComparison.Ordinal)} {r.Stderr}");
        Assert.Equal("/dev/pts/0\r\nhello\r\n30 100\r\ngot hello\r\n", r.StdoutText);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void ExecTty_GivesAWorkingTerminal(string runtime)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        Assert.True(Containerd.Which("python3") != null, "python3 runs ctr on a terminal");
        string id = Name(runtime, "etty");
        try
        {
            RunResult r = _ctd.Ctr("run", "-d", "--runc-binary", Binary(runtime), Containerd.Image, id, "sleep", "60");
            Assert.True(r.ExitCode == 0, r.Stderr);
            r = _ctd.CtrOnTerminal("hello\n", "/dev/pts/", "task", "exec", "-t", "--exec-id", "t1", id,
                "sh", "-c", "tty; read x; stty size; echo got $x; exit 4");
            Assert.True(r.ExitCode == 4, $"status {r.ExitCode}: {r.StdoutText.Replace("\r", "<CR>", StringComparison.Ordinal)} {r.Stderr}");
            Assert.Equal("/dev/pts/0\r\nhello\r\n30 100\r\ngot hello\r\n", r.StdoutText);
        }
        finally
        {
            _ctd.Ctr("task", "kill", "-s", "SIGKILL", id);
            for (int i = 0; i < 100 && TaskField(id, 2) is not ("STOPPED" or ""); i++)
            {
                Thread.Sleep(50);
            }

            _ctd.Ctr("task", "delete", id);
            _ctd.Ctr("container", "delete", id);
        }
    }

    // Field N of the container's row in `ctr task ls` (TASK PID STATUS), or "" when it has none.
    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Detached_PauseResume_ThroughTheShim(string runtime)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        string id = Name(runtime, "p");
        RunResult r = _ctd.Ctr("run", "-d", "--runc-binary", Binary(runtime), Containerd.Image, id, "sleep", "60");
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            r = _ctd.Ctr("task", "pause", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("PAUSED", TaskField(id, 2));
            r = _ctd.Ctr("task", "resume", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("RUNNING", TaskField(id, 2));
        }
        finally
        {
            _ctd.Ctr("task", "kill", "-s", "SIGKILL", id);
            for (int i = 0; i < 100 && TaskField(id, 2) is not ("STOPPED" or ""); i++)
            {
                Thread.Sleep(50);
            }

            _ctd.Ctr("task", "delete", "--force", id);
            _ctd.Ctr("container", "delete", id);
        }
    }

    private string TaskField(string id, int field)
    {
        foreach (string line in _ctd.Ctr("task", "ls").StdoutText.Split('\n'))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 3 && f[0] == id)
            {
                return f[field];
            }
        }

        return string.Empty;
    }

    // A pod through the shim as the CRI plugin makes one: the pause container annotated as the sandbox, app containers
    // naming it and joining its network and IPC namespaces by path (what runc needs; moat runs them in the pause
    // container's sandbox, which shares both). app2 takes app1's message on the SysV queue, then its line on 127.0.0.1.
    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Pod_ThroughTheShim_AppContainersShareLoopbackAndSysvIpc(string runtime)
    {
        Assert.True(_ctd.Problem == null, _ctd.Problem);
        string tools = OciRuntimeTests.BuildPodTool();
        string pause = Name(runtime, "pause"), app1 = Name(runtime, "app1"), app2 = Name(runtime, "app2");
        RunResult r = _ctd.Ctr("run", "-d", "--runc-binary", Binary(runtime), "--annotation", "io.kubernetes.cri.container-type=sandbox", Containerd.Image, pause, "sleep", "600");
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            int pid = TaskPid(pause);
            string[] inPod =
            [
                "--runc-binary", Binary(runtime),
                "--annotation", "io.kubernetes.cri.container-type=container", "--annotation", "io.kubernetes.cri.sandbox-id=" + pause,
                "--with-ns", $"network:/proc/{pid}/ns/net", "--with-ns", $"ipc:/proc/{pid}/ns/ipc",
                "--mount", $"type=bind,src={tools},dst=/tools,options=rbind:ro",
            ];
            r = _ctd.Ctr(["run", "-d", .. inPod, Containerd.Image, app1, "/tools/podtool", "serve", "from app1"]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            r = _ctd.Ctr(["run", "--rm", .. inPod, Containerd.Image, app2, "/tools/podtool", "fetch"]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("got listening\nread from app1\n", r.StdoutText);
        }
        finally
        {
            foreach (string id in (string[])[app1, pause])
            {
                _ctd.Ctr("task", "kill", "-s", "SIGKILL", id);
                for (int i = 0; i < 100 && _ctd.Ctr("task", "delete", id).ExitCode != 0 && _ctd.Ctr("task", "ls").StdoutText.Contains(id, StringComparison.Ordinal); i++)
                {
                    Thread.Sleep(50);
                }

                _ctd.Ctr("container", "delete", id);
            }
        }
    }

    // The host pid of a task, as `ctr task ls` lists it.
    private int TaskPid(string id)
    {
        foreach (string line in _ctd.Ctr("task", "ls").StdoutText.Split('\n'))
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 2 && f[0] == id)
            {
                return int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail("no task " + id);
        return 0;
    }
}
