using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// A Kubernetes pod in one sandbox: bundles annotated as containerd's CRI plugin annotates them (the pause
/// container as the pod's sandbox, then app containers naming its id), driven through create/start/exec/kill/delete.
/// </summary>
public sealed partial class OciRuntimeTests
{
    // serve TEXT: listens on 127.0.0.1:9000, then says so on the SysV queue of key 0x5eed and serves TEXT to one
    // client. fetch: waits for that message, then reads what the server sends. Both must share the IPC namespace
    // (the message) and the network stack (the connection); the message orders them without polling.
    private const string PodToolSource = """
        #include <arpa/inet.h>
        #include <netinet/in.h>
        #include <stdio.h>
        #include <string.h>
        #include <sys/msg.h>
        #include <sys/socket.h>
        #include <unistd.h>

        int main(int argc, char **argv)
        {
            struct { long type; char text[64]; } m;
            struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9000) };
            inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
            int q = msgget(0x5eed, IPC_CREAT | 0600);
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (q < 0 || s < 0) { perror("msgget/socket"); return 1; }
            if (argc == 3 && strcmp(argv[1], "serve") == 0) {
                if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) { perror("bind/listen"); return 1; }
                m.type = 1;
                strcpy(m.text, "listening");
                if (msgsnd(q, &m, strlen(m.text) + 1, 0) < 0) { perror("msgsnd"); return 1; }
                int c = accept(s, 0, 0);
                if (c < 0 || write(c, argv[2], strlen(argv[2])) < 0) { perror("accept/write"); return 1; }
                close(c);
                printf("served\n");
                return 0;
            }
            if (msgrcv(q, &m, sizeof m.text, 0, 0) < 0) { perror("msgrcv"); return 1; }
            printf("got %s\n", m.text);
            msgctl(q, IPC_RMID, 0);
            if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); return 1; }
            char buf[64];
            int n, len = 0;
            while ((n = read(s, buf + len, sizeof buf - 1 - len)) > 0) len += n;
            buf[len] = 0;
            printf("read %s\n", buf);
            return 0;
        }
        """;

    [Fact]
    public void Pod_AppContainersShareLoopbackAndSysvIpc_EachSeesItsOwnRoot_NoHostProcessAfterDelete()
    {
        string tools = BuildPodTool();

        string pod = "p" + Guid.NewGuid().ToString("N")[..8];
        string pause = PodBundle("pause", "sandbox", null, "exec sleep 1000", tools);
        // app1 serves a line on 127.0.0.1:9000 and says so on the pod's SysV queue; app2 waits for that and reads the
        // line: one IPC namespace and one network stack for the pod.
        string app1 = PodBundle("app1", "container", pod, "cat /whoami; cat /app2-only 2>/dev/null || echo 'no app2-only'; podtool serve 'from app1'", tools);
        string app2 = PodBundle("app2", "container", pod, "cat /whoami; cat /app2-only; podtool fetch; echo done; exec sleep 1000", tools);
        File.WriteAllText(Path.Combine(app2, "rootfs", "app2-only"), "app2's own file\n");
        // An app container's own memory limit is not the pod's: create says so in the log, and goes on.
        EditConfig(app1, c => c["linux"]!["resources"] = new JsonObject { ["memory"] = new JsonObject { ["limit"] = 64L << 20 } });

        string state = HostScratch.NewDirectory("state");
        CreatePodContainer(state, pause, pod, out _);
        RunResult r = Runtime("moat", state, "start", pod);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string out1 = CreatePodContainer(state, app1, "app1-" + pod, out string log1);
        string out2 = CreatePodContainer(state, app2, "app2-" + pod, out string log2);
        Assert.Contains("memory, pids and cpu limits of a pod's further container are not applied", log1, StringComparison.Ordinal);
        Assert.DoesNotContain("not applied", log2, StringComparison.Ordinal);
        Assert.Equal("created", (string?)State("moat", state, "app1-" + pod)["status"]);
        var hostPids = new Dictionary<int, string>();
        try
        {
            foreach (string id in (string[])[pod, "app1-" + pod, "app2-" + pod])
            {
                int pid = (int)State("moat", state, id)["pid"]!;
                foreach (int p in (List<int>)[pid, .. HostProcesses.Descendants(pid)])
                {
                    hostPids[p] = StartTime(p) + " " + HostProcesses.CmdLine(p);
                }
            }

            Assert.Equal(0, Runtime("moat", state, "start", "app1-" + pod).ExitCode);
            Assert.Equal(0, Runtime("moat", state, "start", "app2-" + pod).ExitCode);
            WaitFor(() => File.ReadAllText(out2).Contains("done\n", StringComparison.Ordinal), "app2 to finish its checks");
            WaitFor(() => (string?)State("moat", state, "app1-" + pod)["status"] == "stopped", "app1 to end");
            Assert.Equal("I am app1\nno app2-only\nserved\n", File.ReadAllText(out1));
            Assert.Equal("I am app2\napp2's own file\ngot listening\nread from app1\ndone\n", File.ReadAllText(out2));

            // Per container: state (its own init), exec (in its own root), ps (its host stand-ins), kill.
            JsonNode s2 = State("moat", state, "app2-" + pod);
            Assert.Equal("running", (string?)s2["status"]);
            Assert.Equal("running", (string?)State("moat", state, pod)["status"]);
            r = Runtime("moat", state, "exec", "app2-" + pod, "cat", "/whoami");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("I am app2\n", r.StdoutText);
            r = Runtime("moat", state, "exec", pod, "cat", "/whoami");
            Assert.Equal("I am pause\n", r.StdoutText);
            r = Runtime("moat", state, "ps", "--format", "json", "app2-" + pod);
            Assert.Equal($"[{(int)s2["pid"]!}]\n", r.StdoutText);
            Assert.Equal(0, Runtime("moat", state, "kill", "app2-" + pod, "KILL").ExitCode);
            WaitFor(() => (string?)State("moat", state, "app2-" + pod)["status"] == "stopped", "app2 to end");
            Assert.Equal("running", (string?)State("moat", state, pod)["status"]);
        }
        finally
        {
            // As the CRI plugin ends a pod: the app containers, then the sandbox.
            Runtime("moat", state, "delete", "--force", "app1-" + pod);
            Runtime("moat", state, "delete", "--force", "app2-" + pod);
            Runtime("moat", state, "delete", "--force", pod);
        }

        Assert.Empty(Directory.GetDirectories(state));
        foreach ((int pid, string what) in hostPids)
        {
            // Gone, or a zombie its (reparented) parent has yet to reap; the same process (its start time), not a
            // reused pid. The Sentry's stubs end after it, by their parent-death signal: not at once.
            WaitFor(() => !(HostProcesses.Stat(pid) is string[] f && f[0] != "Z" && StartTime(pid) + " " + HostProcesses.CmdLine(pid) == what), $"host process {pid} ({what}) to end with its pod");
        }
    }

    [Fact]
    public void Pod_EachAppContainerHasItsOwnPidNamespace_UnlessItsPidPathNamesThePods()
    {
        // What the shell is and what /proc lists, from inside (a loop over a glob: no process of its own).
        const string Script = "echo \"pid $$\"; for d in /proc/[0-9]*; do echo \"proc ${d#/proc/}\"; done; echo end; exec sleep 1000";
        string pod = "p" + Guid.NewGuid().ToString("N")[..8];
        string pause = PodBundle("pause", "sandbox", null, "exec sleep 1000", null);
        string own = PodBundle("own", "container", pod, Script, null);
        string shared = PodBundle("shared", "container", pod, Script, null);
        // A tmpfs mount with size= in a pod container is as small as under runc.
        EditConfig(own, c => c["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/scratch", ["type"] = "tmpfs", ["source"] = "tmpfs", ["options"] = new JsonArray("nosuid", "size=64k"),
        }));
        string state = HostScratch.NewDirectory("state");
        CreatePodContainer(state, pause, pod, out _);
        Assert.Equal(0, Runtime("moat", state, "start", pod).ExitCode);
        int podPid = (int)State("moat", state, pod)["pid"]!;
        // The CRI's shareProcessNamespace: the pod sandbox's namespace by its host pid.
        EditConfig(shared, c => c["linux"]!["namespaces"] = new JsonArray
        {
            new JsonObject { ["type"] = "pid", ["path"] = $"/proc/{podPid}/ns/pid" },
            new JsonObject { ["type"] = "mount" },
        });
        try
        {
            string outOwn = CreatePodContainer(state, own, "own-" + pod, out _);
            string outShared = CreatePodContainer(state, shared, "shared-" + pod, out string sharedLog);
            Assert.DoesNotContain("pid namespace", sharedLog, StringComparison.Ordinal);
            Assert.Equal(0, Runtime("moat", state, "start", "own-" + pod).ExitCode);
            Assert.Equal(0, Runtime("moat", state, "start", "shared-" + pod).ExitCode);
            WaitFor(() => File.ReadAllText(outOwn).Contains("end\n", StringComparison.Ordinal), "the own container's listing");
            WaitFor(() => File.ReadAllText(outShared).Contains("end\n", StringComparison.Ordinal), "the shared container's listing");

            // Its own namespace: its init is pid 1 and sees only itself, as under runc.
            Assert.Equal("pid 1\nproc 1\nend\n", File.ReadAllText(outOwn));

            // The pod's namespace: the pause process is pid 1 there, the shell another pid, and both are listed.
            string[] lines = File.ReadAllText(outShared).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEqual("pid 1", lines[0]);
            Assert.Contains("proc 1", lines);
            Assert.Contains("proc " + lines[0]["pid ".Length..], lines);

            // exec joins the container's namespace: the next pid there, with the container's init as pid 1.
            RunResult r = Runtime("moat", state, "exec", "own-" + pod, "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; kill -9 1; echo killed $?");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("2\nsleep 1000 \nkilled 0\n", r.StdoutText);

            r = Runtime("moat", state, "exec", "own-" + pod, "sh", "-c", "head -c 100000 /dev/zero > /scratch/f; echo write $?; wc -c < /scratch/f");
            Assert.Equal("write 1\n65536\n", r.StdoutText);

            // kill -9 1 from inside did nothing (an init ignores it from its own namespace); from outside it ends it.
            Assert.Equal("running", (string?)State("moat", state, "own-" + pod)["status"]);
            Assert.Equal(0, Runtime("moat", state, "kill", "own-" + pod, "KILL").ExitCode);
            WaitFor(() => (string?)State("moat", state, "own-" + pod)["status"] == "stopped", "the own container to end");
            Assert.Equal("running", (string?)State("moat", state, "shared-" + pod)["status"]);
        }
        finally
        {
            Runtime("moat", state, "delete", "--force", "own-" + pod);
            Runtime("moat", state, "delete", "--force", "shared-" + pod);
            Runtime("moat", state, "delete", "--force", pod);
        }

        Assert.Empty(Directory.GetDirectories(state));
    }

    [Fact]
    public void Pod_AContainerNamingNoRunningSandbox_FailsCreate()
    {
        string bundle = PodBundle("lone", "container", "nosuchsandbox", "true", null);
        RunResult r = Runtime("moat", HostScratch.NewDirectory("state"), "create", "--bundle", bundle, "lone");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("the pod's sandbox container nosuchsandbox is not running", r.Stderr, StringComparison.Ordinal);
    }

    // A process's start time (field 22 of /proc/PID/stat), "" when it is gone.
    private static string StartTime(int pid) => HostProcesses.Stat(pid) is string[] f ? f[19] : string.Empty;

    /// <summary>A directory holding podtool (see <see cref="PodToolSource"/>), built static.</summary>
    internal static string BuildPodTool()
    {
        string tools = HostScratch.NewDirectory("podtool");
        File.WriteAllText(Path.Combine(tools, "podtool.c"), PodToolSource);
        RunResult cc = ProcessRunner.Run("gcc", ["-static", "-O1", "-Wall", "-Werror", "-o", Path.Combine(tools, "podtool"), Path.Combine(tools, "podtool.c")], tools);
        Assert.True(cc.ExitCode == 0, cc.Stderr);
        return tools;
    }

    // A busybox bundle annotated as the CRI plugin annotates a pod's containers, with /whoami naming it and
    // /bin/podtool from <paramref name="tools"/>.
    private static string PodBundle(string name, string type, string? sandboxId, string script, string? tools)
    {
        string bundle = Bundle(script);
        File.WriteAllText(Path.Combine(bundle, "rootfs", "whoami"), $"I am {name}\n");
        if (tools != null)
        {
            File.Copy(Path.Combine(tools, "podtool"), Path.Combine(bundle, "rootfs", "bin", "podtool"));
        }

        EditConfig(bundle, c =>
        {
            var annotations = new JsonObject { ["io.kubernetes.cri.container-type"] = type };
            if (sandboxId != null)
            {
                annotations["io.kubernetes.cri.sandbox-id"] = sandboxId;
            }

            c["annotations"] = annotations;
        });
        return bundle;
    }

    // moat create with the container's stdio on files (as the shim's pipes would be); returns the stdout file, and
    // what create logged in <paramref name="log"/>.
    private static string CreatePodContainer(string state, string bundle, string id, out string log)
    {
        string dir = HostScratch.NewDirectory("io");
        string output = Path.Combine(dir, "out");
        var all = new List<string> { "-c", "exec \"$@\" <'/dev/null' >'" + output + "' 2>'" + dir + "/err'", "sh", Binary("moat") };
        all.AddRange(Prefix("moat"));
        all.AddRange(["--root", state, "--log", Path.Combine(dir, "log.json"), "--log-format", "json", "create", "--bundle", bundle, id]);
        RunResult r = ProcessRunner.Run("/bin/sh", all, dir, null, 60_000);
        log = File.Exists(Path.Combine(dir, "log.json")) ? File.ReadAllText(Path.Combine(dir, "log.json")) : string.Empty;
        Assert.True(r.ExitCode == 0, $"create {id}: " + File.ReadAllText(Path.Combine(dir, "err")) + log);
        return output;
    }
}
