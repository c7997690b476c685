using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// moat's runc command line without containerd: a bundle made by <c>runc spec</c> runs the same under
/// <c>moat run</c> and <c>runc run</c>, and the create/start/state/kill/delete life cycle reads the same
/// from both.
/// </summary>
public sealed partial class OciRuntimeTests
{
    private static string Binary(string runtime) => runtime == "runc" ? Containerd.Which("runc") ?? "runc" : MoatCli.Command.File;

    private static string[] Prefix(string runtime) => runtime == "runc" ? [] : MoatCli.Command.Prefix;

    /// <summary>A bundle from `runc spec` over a busybox rootfs, running <paramref name="script"/> without a terminal (or with one).</summary>
    private static string Bundle(string script, bool terminal = false)
    {
        string bundle = HostScratch.NewDirectory("bundle");
        string bin = Path.Combine(bundle, "rootfs", "bin");
        Directory.CreateDirectory(bin);
        File.Copy("/bin/busybox", Path.Combine(bin, "busybox"));
        foreach (string applet in OciImage.Applets)
        {
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
        }

        RunResult spec = ProcessRunner.Run("runc", ["spec"], bundle);
        Assert.True(spec.ExitCode == 0, "runc spec: " + spec.Stderr);
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["process"]!["terminal"] = terminal;
        config["process"]!["args"] = new JsonArray("sh", "-c", script);
        File.WriteAllText(path, config.ToJsonString());
        return bundle;
    }

    // Runs the bundle to its end under runc, then under moat (each must exit 0, then afterEach runs), and
    // asserts the two printed the same. Returns what they printed.
    private static string[] RunUnderRuncAndMoat(string bundle, Action? afterEach = null)
    {
        var outputs = new string[2];
        string[] runtimes = ["runc", "moat"];
        for (int i = 0; i < runtimes.Length; i++)
        {
            RunResult r = Runtime(runtimes[i], HostScratch.NewDirectory("state"), "run", "--bundle", bundle, runtimes[i][0] + Guid.NewGuid().ToString("N")[..8]);
            Assert.True(r.ExitCode == 0, runtimes[i] + ": " + r.Stderr);
            outputs[i] = r.StdoutText;
            afterEach?.Invoke();
        }

        Assert.Equal(outputs[0], outputs[1]);
        return outputs;
    }

    // Runs the runtime with stdio on files, so a container left running does not hold the test's pipes.
    private static RunResult Runtime(string runtime, string state, params string[] args)
    {
        string dir = HostScratch.NewDirectory("io");
        var all = new List<string> { "-c", "exec \"$@\" <'/dev/null' >'" + dir + "/out' 2>'" + dir + "/err'", "sh", Binary(runtime) };
        all.AddRange(Prefix(runtime));
        all.AddRange(["--root", state, "--log", Path.Combine(dir, "log.json"), "--log-format", "json"]);
        all.AddRange(args);
        RunResult r = ProcessRunner.Run("/bin/sh", all, dir, null, 60_000);
        return new RunResult(File.ReadAllBytes(Path.Combine(dir, "out")), File.ReadAllText(Path.Combine(dir, "err")) + (File.Exists(Path.Combine(dir, "log.json")) ? File.ReadAllText(Path.Combine(dir, "log.json")) : string.Empty), r.ExitCode);
    }

    [Fact]
    public void Run_RuncSpecBundle_PrintsWhatRuncPrints()
    {
        string bundle = Bundle("echo hello; id; hostname; pwd; ulimit -n; grep -E 'NoNewPrivs|CapEff|CapPrm|CapBnd' /proc/self/status; echo $PATH; exit 3");
        RunResult moat = Runtime("moat", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "m" + Guid.NewGuid().ToString("N")[..8]);
        RunResult runc = Runtime("runc", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "r" + Guid.NewGuid().ToString("N")[..8]);
        Assert.True(runc.ExitCode == 3, runc.Stderr);
        Assert.True(moat.ExitCode == 3, moat.Stderr);
        Assert.Equal(runc.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void Run_TerminalBundle_InTheForeground_UsesTheCallersTerminal_AsRunc()
    {
        Assert.True(Containerd.Which("python3") != null, "python3 runs the runtime on a terminal");
        string bundle = Bundle("tty; read x; stty size; echo got $x; exit 3", terminal: true);
        RunResult moat = OnTerminal("moat", bundle);
        RunResult runc = OnTerminal("runc", bundle);
        Assert.True(runc.ExitCode == 3, runc.StdoutText + runc.Stderr);
        Assert.True(moat.ExitCode == 3, moat.StdoutText + moat.Stderr);
        Assert.Equal("/dev/pts/0\r\nhello\r\n30 100\r\ngot hello\r\n", runc.StdoutText);
        Assert.Equal(runc.StdoutText, moat.StdoutText);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void ExecTty_InTheForeground_UsesTheCallersTerminal(string runtime)
    {
        Assert.True(Containerd.Which("python3") != null, "python3 runs the runtime on a terminal");
        string bundle = Bundle("sleep 60");
        string state = HostScratch.NewDirectory("state");
        string id = runtime[0] + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Runtime(runtime, state, "run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            r = PtyRunner.Run("hello\n", "/dev/pts/", bundle, [Binary(runtime), .. Prefix(runtime), "--root", state, "exec", "-t", id, "sh", "-c", "tty; read x; stty size; echo got $x; exit 4"]);
            Assert.True(r.ExitCode == 4, r.StdoutText + r.Stderr);
            Assert.Equal("/dev/pts/0\r\nhello\r\n30 100\r\ngot hello\r\n", r.StdoutText);
        }
        finally
        {
            Runtime(runtime, state, "kill", id, "9");
            Runtime(runtime, state, "delete", "--force", id);
        }
    }

    // `RUNTIME run` of the bundle on a 30x100 host terminal, "hello" typed once the container printed its tty.
    [Fact]
    public void Run_TerminalBundle_OutputJustBeforeExit_AllReachesTheTerminal()
    {
        // Init writes a burst and exits at once: the Sentry must copy it all to the console before it ends.
        string bundle = Bundle("tty; seq 1 4000; exit 3", terminal: true);
        RunResult moat = OnTerminal("moat", bundle);
        Assert.True(moat.ExitCode == 3, moat.StdoutText + moat.Stderr);
        // The terminal's echo of the "hello" the harness types may land anywhere in the burst, even after it.
        Assert.Contains("\r\n3999\r\n4000\r\n", moat.StdoutText, StringComparison.Ordinal);
    }

    private static RunResult OnTerminal(string runtime, string bundle)
    {
        string state = HostScratch.NewDirectory("state");
        string id = runtime[0] + Guid.NewGuid().ToString("N")[..8];
        return PtyRunner.Run("hello\n", "/dev/pts/", bundle, [Binary(runtime), .. Prefix(runtime), "--root", state, "run", "--bundle", bundle, id]);
    }

    [Fact]
    public void Run_BindMounts_ReadOnlyAndReadWrite_AsUnderRunc()
    {
        string bundle = Bundle("""
            {
              cat /ro/greeting; echo "read $?"; touch /ro/x; echo "touch ro $?"
              echo written > /rw/out-$RUNTIME; echo "write rw $?"; ls /rw
            } 2>&1
            """);
        string ro = HostScratch.NewDirectory("bind-ro");
        string rw = HostScratch.NewDirectory("bind-rw");
        File.WriteAllText(Path.Combine(ro, "greeting"), "hello from the host\n");
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/ro", ["type"] = "bind", ["source"] = ro, ["options"] = new JsonArray("rbind", "ro") });
        config["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/rw", ["type"] = "bind", ["source"] = rw, ["options"] = new JsonArray("rbind", "rw") });
        foreach (string dir in new[] { "ro", "rw" })
        {
            Directory.CreateDirectory(Path.Combine(bundle, "rootfs", dir));
        }

        config["process"]!["env"]!.AsArray().Add("RUNTIME=x");
        File.WriteAllText(path, config.ToJsonString());
        RunUnderRuncAndMoat(bundle, () =>
        {
            Assert.Equal("written\n", File.ReadAllText(Path.Combine(rw, "out-x")));
            File.Delete(Path.Combine(rw, "out-x"));
        });

        Assert.Equal(["greeting"], Directory.GetFiles(ro).Select(Path.GetFileName));
    }

    [Fact]
    public void Run_AsANonRootUser_FilePermissionsHold_AsUnderRunc()
    {
        // process.user uid 1000 in a writable root: root's files stay root's, /tmp is anyone's.
        string bundle = Bundle("""
            {
              id -u; echo x >> /etc/passwd; echo "append passwd $?"; cat /etc/shadow; echo "read shadow $?"
              rm /bin/ls; echo "rm ls $?"; chmod 4755 /bin/busybox; echo "chmod $?"; touch /new; echo "create in / $?"
              touch /tmp/mine && chmod 600 /tmp/mine; echo "tmp $?"; rm /tmp/theirs; echo "rm theirs in sticky tmp $?"
              rm /tmp/mine
            } 2>/dev/null
            """);
        string rootfs = Path.Combine(bundle, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "etc"));
        File.WriteAllText(Path.Combine(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n");
        File.WriteAllText(Path.Combine(rootfs, "etc", "shadow"), "root:*:1::::::\n");
        File.SetUnixFileMode(Path.Combine(rootfs, "etc", "shadow"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Directory.CreateDirectory(Path.Combine(rootfs, "tmp"));
        File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0x3FF); // 01777
        File.WriteAllText(Path.Combine(rootfs, "tmp", "theirs"), "root's\n");
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["root"]!["readonly"] = false;
        config["process"]!["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
        File.WriteAllText(path, config.ToJsonString());
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Contains("append passwd 1", outputs[1], StringComparison.Ordinal);
        Assert.Equal("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n", File.ReadAllText(Path.Combine(rootfs, "etc", "passwd")));
        Assert.True(File.Exists(Path.Combine(rootfs, "tmp", "theirs")));
    }

    [Fact]
    public void Run_WithoutTheDacCapabilities_RootIsRefused_AsUnderRunc()
    {
        // Root whose spec drops CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER: the file
        // permission checks use the container's capabilities, not its uid.
        string bundle = Bundle("""
            {
              touch /tmp/f; chown 1000 /tmp/f; echo "chown $?"; chown 1000 /tmp/other; echo "chown other $?"
              cat /tmp/secret; echo "read 0600 of another $?"; chmod 777 /tmp/other; echo "chmod other $?"
              rm -f /tmp/f
            } 2>/dev/null
            """);
        string rootfs = Path.Combine(bundle, "rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "tmp"));
        File.SetUnixFileMode(Path.Combine(rootfs, "tmp"), (UnixFileMode)0x3FF); // 01777
        File.WriteAllText(Path.Combine(rootfs, "tmp", "other"), "x\n");
        File.WriteAllText(Path.Combine(rootfs, "tmp", "secret"), "s\n");
        File.SetUnixFileMode(Path.Combine(rootfs, "tmp", "secret"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        foreach (string name in new[] { "other", "secret" })
        {
            ProcessRunner.Run("chown", ["1000:1000", Path.Combine(rootfs, "tmp", name)], bundle);
        }

        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["root"]!["readonly"] = false;
        var caps = new JsonArray("CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE");
        foreach (string set in new[] { "bounding", "effective", "permitted" })
        {
            config["process"]!["capabilities"]![set] = caps.DeepClone();
        }

        File.WriteAllText(path, config.ToJsonString());
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Contains("read 0600 of another 1", outputs[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Run_SingleFileBinds_AsAPodHasThem_AsUnderRunc()
    {
        // The CRI binds /etc/hosts, /etc/resolv.conf, /etc/hostname and /dev/termination-log as single files.
        string bundle = Bundle("""
            {
              cat /etc/hosts /etc/resolv.conf /etc/hostname; echo "read $?"
              echo extra >> /etc/hosts; echo "append ro $?"; rm /etc/hosts; echo "rm $?"
              echo done > /dev/termination-log; echo "write $?"; cat /etc/hosts/x; echo "below $?"
            } 2>/dev/null
            """);
        string files = HostScratch.NewDirectory("bind-files");
        File.WriteAllText(Path.Combine(files, "hosts"), "127.0.0.1 localhost\n10.1.2.3 pod\n");
        File.WriteAllText(Path.Combine(files, "resolv.conf"), "nameserver 10.96.0.10\n");
        File.WriteAllText(Path.Combine(files, "hostname"), "pod\n");
        File.WriteAllText(Path.Combine(files, "termination-log"), string.Empty);
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        foreach ((string dest, string name, string mode) in new[] { ("/etc/hosts", "hosts", "ro"), ("/etc/resolv.conf", "resolv.conf", "ro"), ("/etc/hostname", "hostname", "ro"), ("/dev/termination-log", "termination-log", "rw") })
        {
            config["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = dest, ["type"] = "bind", ["source"] = Path.Combine(files, name), ["options"] = new JsonArray("rbind", mode, "nosuid", "nodev", "noexec") });
        }

        File.WriteAllText(path, config.ToJsonString());
        string[] outputs = RunUnderRuncAndMoat(bundle, () =>
        {
            Assert.Equal("done\n", File.ReadAllText(Path.Combine(files, "termination-log")));
            File.WriteAllText(Path.Combine(files, "termination-log"), string.Empty);
        });

        Assert.Contains("10.1.2.3 pod", outputs[1], StringComparison.Ordinal);
        Assert.Equal("127.0.0.1 localhost\n10.1.2.3 pod\n", File.ReadAllText(Path.Combine(files, "hosts")));
    }

    [Fact]
    public void Run_TmpfsAndBindOptions_AreHonoured_AsUnderRunc()
    {
        // tmpfs size= and mode=, and nosuid/nodev/noexec on a tmpfs and on a read-only bind, as the kernel applies them for runc.
        string bundle = Bundle("""
            {
              stat -c '%a %u' /scratch; dd if=/dev/zero of=/scratch/big bs=4096 count=512 2>/dev/null; echo "fill $?"
              stat -c %s /scratch/big; df -k /scratch | tail -1 | awk '{print $2}'
              o=$(grep ' /scratch ' /proc/mounts | cut -d' ' -f4); for w in rw nosuid nodev noexec size=1024k mode=750; do echo "$o" | tr , '\n' | grep -qx $w && echo "has $w"; done
              cp /bin/busybox /scratch/bb; /scratch/bb true; echo "exec on noexec tmpfs $?"
              cat /data/script.sh > /dev/null; echo "read bind $?"; /data/script.sh; echo "exec on noexec bind $?"
              touch /data/new; echo "write ro bind $?"
              o=$(grep ' /data ' /proc/mounts | cut -d' ' -f4); for w in ro nosuid nodev noexec; do echo "$o" | tr , '\n' | grep -qx $w && echo "bind has $w"; done
            } 2>/dev/null
            """);
        string data = HostScratch.NewDirectory("bind-data");
        File.WriteAllText(Path.Combine(data, "script.sh"), "#!/bin/sh\necho ran\n");
        File.SetUnixFileMode(Path.Combine(data, "script.sh"), (UnixFileMode)0x1ED);
        // runc keeps the mode of an image directory a tmpfs is mounted on (mountinfo still shows mode=750).
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "scratch"));
        File.SetUnixFileMode(Path.Combine(bundle, "rootfs", "scratch"), (UnixFileMode)0x1C0);
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "data"));
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/scratch", ["type"] = "tmpfs", ["source"] = "tmpfs", ["options"] = new JsonArray("nosuid", "nodev", "noexec", "size=1m", "mode=750") });
        config["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/data", ["type"] = "bind", ["source"] = data, ["options"] = new JsonArray("rbind", "ro", "nosuid", "nodev", "noexec") });
        File.WriteAllText(path, config.ToJsonString());
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Contains("700 0\nfill 1\n1048576\n1024\nhas rw\nhas nosuid\nhas nodev\nhas noexec\nhas size=1024k\nhas mode=750\n", outputs[1], StringComparison.Ordinal);
        Assert.Contains("exec on noexec bind 126", outputs[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ReadOnlyRoot_ChangesFailAsUnderRunc()
    {
        // runc spec's root is read-only, and its only tmpfs are /dev and /dev/shm: /tmp is the root's.
        string bundle = Bundle("""
            {
              touch /new; echo "touch $?"; mkdir /bin; echo "mkdir existing $?"; mkdir /d; echo "mkdir $?"
              rm /bin/true; echo "rm $?"; rm /missing; echo "rm missing $?"; echo x > /bin/echo; echo "write $?"
              mv /bin/cat /bin/kat; echo "mv $?"; chmod 700 /bin; echo "chmod $?"; ln -s a /l; echo "symlink $?"
              touch /tmp/x; echo "tmp $?"; touch /dev/shm/x; echo "shm $?"; cat /bin/busybox > /dev/null; echo "read $?"
            } 2>&1
            """);
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "tmp"));
        RunResult moat = Runtime("moat", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "m" + Guid.NewGuid().ToString("N")[..8]);
        RunResult runc = Runtime("runc", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "r" + Guid.NewGuid().ToString("N")[..8]);
        Assert.True(runc.ExitCode == 0, runc.Stderr);
        Assert.True(moat.ExitCode == 0, moat.Stderr);
        Assert.Contains("Read-only file system", runc.StdoutText);
        Assert.Equal(runc.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void Create_TheContainersSentryIsJailed_AsMoatDosIs()
    {
        string bundle = Bundle("sleep 60");
        string state = HostScratch.NewDirectory("state");
        string id = "jail-" + Guid.NewGuid().ToString("N")[..8];
        string pidFile = Path.Combine(state, "init.pid");
        RunResult r = Runtime("moat", state, "create", "--bundle", bundle, "--pid-file", pidFile, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            int pid = int.Parse(File.ReadAllText(pidFile), System.Globalization.CultureInfo.InvariantCulture);
            r = Runtime("moat", state, "start", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            JailedSentry.AssertJailed(JailedSentry.Find(pid));
            r = Runtime("moat", state, "ps", "--format", "json", id);
            Assert.Equal($"[{pid}]", r.StdoutText.Trim());
        }
        finally
        {
            Runtime("moat", state, "delete", "--force", id);
        }
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Lifecycle_CreateStartKillDelete_StatesAsRunc(string runtime)
    {
        string bundle = Bundle("sleep 60");
        string state = HostScratch.NewDirectory("state");
        string id = runtime + "-" + Guid.NewGuid().ToString("N")[..8];
        string pidFile = Path.Combine(state, "init.pid");
        RunResult r = Runtime(runtime, state, "create", "--bundle", bundle, "--pid-file", pidFile, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            int pid = int.Parse(File.ReadAllText(pidFile), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(pid > 0);
            JsonNode s = State(runtime, state, id);
            Assert.Equal("created", (string?)s["status"]);
            Assert.Equal(pid, (int?)s["pid"]);
            Assert.Equal(bundle, (string?)s["bundle"]);

            r = Runtime(runtime, state, "create", "--bundle", bundle, id);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("exists", r.Stderr);

            // exec works before start, beside the waiting init, and leaves the container created.
            r = Runtime(runtime, state, "exec", id, "sh", "-c", "echo early; exit 6");
            Assert.Equal(6, r.ExitCode);
            Assert.Equal("early\n", r.StdoutText);
            Assert.Equal("created", (string?)State(runtime, state, id)["status"]);

            r = Runtime(runtime, state, "start", id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("running", (string?)State(runtime, state, id)["status"]);

            r = Runtime(runtime, state, "list", "--format", "json");
            Assert.Contains(id, r.StdoutText);

            r = Runtime(runtime, state, "delete", id);
            Assert.NotEqual(0, r.ExitCode);

            r = Runtime(runtime, state, "kill", id, "KILL");
            Assert.True(r.ExitCode == 0, r.Stderr);
            for (int i = 0; i < 600 && (string?)State(runtime, state, id)["status"] != "stopped"; i++)
            {
                Thread.Sleep(50); // up to 30 s: a loaded machine takes seconds to tear a sandbox down
            }

            Assert.Equal("stopped", (string?)State(runtime, state, id)["status"]);
            r = Runtime(runtime, state, "kill", id, "KILL");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("not running", r.Stderr);
        }
        finally
        {
            r = Runtime(runtime, state, "delete", "--force", id);
        }

        Assert.True(r.ExitCode == 0, r.Stderr);
        r = Runtime(runtime, state, "state", id);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("does not exist", r.Stderr);
        r = Runtime(runtime, state, "delete", id);
        Assert.NotEqual(0, r.ExitCode);
        r = Runtime(runtime, state, "delete", "--force", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Create_InvalidBundle_FailsWithAClearError(string runtime)
    {
        string bundle = HostScratch.NewDirectory("bundle");
        File.WriteAllText(Path.Combine(bundle, "config.json"), "{ not json");
        RunResult r = Runtime(runtime, HostScratch.NewDirectory("state"), "create", "--bundle", bundle, "bad");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("invalid", r.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"level\":\"error\"", r.Stderr);
    }

    [Theory]
    [InlineData("moat")]
    [InlineData("runc")]
    public void Kill_BeforeStart_StopsTheContainer(string runtime)
    {
        string bundle = Bundle("echo never");
        string state = HostScratch.NewDirectory("state");
        string id = runtime + "-" + Guid.NewGuid().ToString("N")[..8];
        RunResult r = Runtime(runtime, state, "create", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = Runtime(runtime, state, "kill", id, "TERM");
        Assert.True(r.ExitCode == 0, r.Stderr);
        for (int i = 0; i < 100 && (string?)State(runtime, state, id)["status"] != "stopped"; i++)
        {
            Thread.Sleep(50);
        }

        Assert.Equal("stopped", (string?)State(runtime, state, id)["status"]);
        r = Runtime(runtime, state, "start", id);
        Assert.NotEqual(0, r.ExitCode);
        r = Runtime(runtime, state, "delete", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    private static JsonNode State(string runtime, string state, string id)
    {
        RunResult r = Runtime(runtime, state, "state", id);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return JsonNode.Parse(r.StdoutText)!;
    }

    // The profile: runc's names and operators, containerd's style of denials (unshare, keyctl, add_key with the
    // default errno), errnoRet on mkdir, every comparison, two conditions on one argument, KILL_PROCESS,
    // names libseccomp knows that the rule list may carry and moat need not (ignored), and the rule that
    // equals the default action (dropped).
    private static JsonNode SeccompProfile() => JsonNode.Parse("""
        {
          "defaultAction": "SCMP_ACT_ALLOW",
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["unshare", "keyctl", "add_key", "request_key", "no_such_call_anywhere"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["getppid"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7, "args": [{"index": 0, "value": 424242, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getsid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 8, "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_NE"}]},
            {"names": ["sched_getscheduler"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9, "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LT"}]},
            {"names": ["umask"], "action": "SCMP_ACT_ERRNO", "errnoRet": 10, "args": [{"index": 0, "value": 448, "valueTwo": 448, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11, "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_LE"}, {"index": 1, "value": 424242, "op": "SCMP_CMP_GE"}]},
            {"names": ["setpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12, "args": [{"index": 0, "value": 424241, "op": "SCMP_CMP_GT"}]},
            {"names": ["dup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14, "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 101, "op": "SCMP_CMP_EQ"}]},
            {"names": ["sysinfo"], "action": "SCMP_ACT_KILL_PROCESS"}
          ]
        }
        """)!;

    // A bundle running script with the probe at /bin/probe and the seccomp profile in its spec.
    private static string SeccompBundle(string script)
    {
        string bundle = Bundle(script);
        SeccompProbe.Build(Path.Combine(bundle, "rootfs", "bin"));
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        config["linux"]!["seccomp"] = SeccompProfile();
        File.WriteAllText(path, config.ToJsonString());
        return bundle;
    }

    [Fact]
    public void Run_WithASeccompProfile_CallsAreDeniedAndKilledAsUnderRunc()
    {
        string bundle = SeccompBundle("/bin/probe; /bin/probe kill; echo \"kill status $?\"");
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Contains("mkdir: errno 13", outputs[1], StringComparison.Ordinal);
        Assert.Contains("unshare user: errno 1\n", outputs[1], StringComparison.Ordinal);
        Assert.Contains("kill status 159", outputs[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Exec_WithASeccompProfile_TheExecdProcessIsFilteredToo_AsUnderRunc()
    {
        string bundle = SeccompBundle("sleep 60");
        string[] outputs = ExecUnderRuncAndMoat(bundle, (runtime, state, id) =>
        {
            RunResult r = Runtime(runtime, state, "exec", id, "/bin/probe");
            Assert.True(r.ExitCode == 0, r.Stderr);
            return r.StdoutText;
        });
        Assert.Contains("mkdir: errno 13", outputs[1], StringComparison.Ordinal);
    }

    // Starts the bundle detached under runc, then under moat, runs <paramref name="execs"/> against each (what
    // they print is returned), deletes the container, and asserts the two printed the same.
    private static string[] ExecUnderRuncAndMoat(string bundle, Func<string, string, string, string> execs)
    {
        var outputs = new string[2];
        string[] runtimes = ["runc", "moat"];
        for (int i = 0; i < runtimes.Length; i++)
        {
            string state = HostScratch.NewDirectory("state");
            string id = runtimes[i] + "-" + Guid.NewGuid().ToString("N")[..8];
            RunResult r = Runtime(runtimes[i], state, "run", "--detach", "--bundle", bundle, id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            try
            {
                outputs[i] = execs(runtimes[i], state, id);
            }
            finally
            {
                Runtime(runtimes[i], state, "delete", "--force", id);
            }
        }

        Assert.Equal(outputs[0], outputs[1]);
        return outputs;
    }

    // Writes a change to the bundle's config.json.
    private static void EditConfig(string bundle, Action<JsonNode> edit)
    {
        string path = Path.Combine(bundle, "config.json");
        JsonNode config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }

    [Fact]
    public void Run_MemoryLimit_AProcessBeyondItIsKilled_InitWith137_AsUnderRunc()
    {
        // awk doubles a string to 64 MiB of anonymous memory, which the memory cgroup (runc) and the Sentry's
        // cap both count: a child beyond 32 MiB dies of SIGKILL, then the container's init does.
        const string grow = "busybox awk 'BEGIN { s = \"x\"; while (length(s) < 67108864) s = s s; print length(s) }'";
        string bundle = Bundle(grow + "; echo \"child $?\"; exec " + grow);
        EditConfig(bundle, c => c["linux"]!["resources"]!["memory"] = new JsonObject { ["limit"] = 32L << 20 });
        foreach (string runtime in new[] { "runc", "moat" })
        {
            RunResult r = Runtime(runtime, HostScratch.NewDirectory("state"), "run", "--bundle", bundle, runtime + Guid.NewGuid().ToString("N")[..8]);
            Assert.True(r.ExitCode == 137, $"{runtime}: status {r.ExitCode}: {r.Stderr}");
            Assert.Equal("child 137\n", r.StdoutText);
        }
    }

    [Fact]
    public void Run_PidsLimit_ForkBeyondItFailsWithEagain_AsUnderRunc()
    {
        // Five tasks: the two shells and three sleeps; the fourth sleep's fork fails and busybox sh gives up.
        string bundle = Bundle("sh -c 'for i in 1 2 3 4 5 6; do sleep 1 & done' 2>&1; echo \"status $?\"");
        EditConfig(bundle, c => c["linux"]!["resources"]!["pids"] = new JsonObject { ["limit"] = 5 });
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Equal("sh: can't fork: Resource temporarily unavailable\nstatus 2\n", outputs[1]);
    }

    [Fact]
    public void Run_Cpuset_TheContainerRunsOnThoseCpus_AsUnderRunc()
    {
        // nproc asks sched_getaffinity: one CPU under a cpuset of CPU 0, with runc's cgroup and with moat's mask.
        string bundle = Bundle("busybox nproc");
        EditConfig(bundle, c => c["linux"]!["resources"] = new JsonObject { ["cpu"] = new JsonObject { ["cpus"] = "0" } });
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Equal("1\n", outputs[1]);
    }

    [Theory]
    [InlineData(0, "/root")]
    [InlineData(4242, "/")]
    public void Run_WithoutHome_HomeIsThePasswdEntrys_AsUnderRunc(int uid, string home)
    {
        string bundle = Bundle("echo \"HOME=$HOME\"");
        string etc = Path.Combine(bundle, "rootfs", "etc");
        Directory.CreateDirectory(etc);
        File.WriteAllText(Path.Combine(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
        EditConfig(bundle, c =>
        {
            c["process"]!["user"] = new JsonObject { ["uid"] = uid, ["gid"] = uid };
            c["process"]!["env"] = new JsonArray("PATH=/bin", "TERM=xterm");
        });
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Equal($"HOME={home}\n", outputs[1]);
    }

    [Fact]
    public void Exec_WithoutHome_HomeIsThePasswdEntrys_AsUnderRunc()
    {
        string bundle = Bundle("sleep 60");
        string etc = Path.Combine(bundle, "rootfs", "etc");
        Directory.CreateDirectory(etc);
        File.WriteAllText(Path.Combine(etc, "passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n");
        EditConfig(bundle, c => c["process"]!["env"] = new JsonArray("PATH=/bin"));
        string process = Path.Combine(bundle, "exec.json");
        File.WriteAllText(process, """{"args": ["sh", "-c", "echo HOME=$HOME"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 1000, "gid": 1000}}""");
        string[] outputs = ExecUnderRuncAndMoat(bundle, (runtime, state, id) =>
        {
            RunResult r = Runtime(runtime, state, "exec", id, "sh", "-c", "echo HOME=$HOME");
            Assert.True(r.ExitCode == 0, r.Stderr);
            string both = r.StdoutText;
            r = Runtime(runtime, state, "exec", "--process", process, id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return both + r.StdoutText;
        });
        Assert.Equal("HOME=/root\nHOME=/home/user\n", outputs[1]);
    }

    [Fact]
    public void Run_PasswdASymlinkOutOfTheRootfs_ResolvesInside()
    {
        // /etc/passwd -> /../../../../etc/passwd resolves beneath the rootfs (to itself: a loop), never to the
        // host's passwd: no entry, so HOME is "/" (runc reads it inside the container, after pivot_root, where
        // no path leaves the root either).
        string bundle = Bundle("echo \"HOME=$HOME\"");
        string etc = Path.Combine(bundle, "rootfs", "etc");
        Directory.CreateDirectory(etc);
        File.CreateSymbolicLink(Path.Combine(etc, "passwd"), "/../../../../../../etc/passwd");
        EditConfig(bundle, c => c["process"]!["env"] = new JsonArray("PATH=/bin"));
        RunResult r = Runtime("moat", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "m" + Guid.NewGuid().ToString("N")[..8]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("HOME=/\n", r.StdoutText);
    }

    [Fact]
    public void Run_KillOfInitFromInside_IsIgnoredUnlessHandled_AsUnderRunc()
    {
        // The container's init ignores what it has no handler for when it comes from its own PID namespace:
        // SIGKILL, SIGTERM, SIGSTOP from itself or a child; a trapped signal is delivered.
        string bundle = Bundle("""
            kill -9 1; echo "after KILL $?"; kill -TERM 1; echo "after TERM $?"; kill -STOP 1; echo "after STOP $?"
            sh -c 'kill -9 1; kill -TERM 1'; echo "after a child's KILL and TERM $?"
            trap 'echo "USR1 handled"' USR1; kill -USR1 1; echo "after USR1"
            """);
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Equal("after KILL 0\nafter TERM 0\nafter STOP 0\nafter a child's KILL and TERM 0\nUSR1 handled\nafter USR1\n", outputs[1]);
    }
}
