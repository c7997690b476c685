using System.IO;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>process.capabilities' ambient set, compared with runc: what a non-root process holds after runc's execve.</summary>
public sealed partial class OciRuntimeTests
{
    private static JsonObject Capabilities(JsonArray bounding, JsonArray effective, JsonArray permitted, JsonArray inheritable, JsonArray ambient) => new()
    {
        ["bounding"] = bounding,
        ["effective"] = effective,
        ["permitted"] = permitted,
        ["inheritable"] = inheritable,
        ["ambient"] = ambient,
    };

    [Fact]
    public void RunAndExec_AmbientCapabilitiesOfANonRootUser_AreWhatRuncsExecveLeaves()
    {
        // uid 1000 with CAP_NET_BIND_SERVICE ambient (and inheritable, so runc can raise it), CAP_CHOWN permitted and
        // asked ambient but not inheritable (runc's raise of it fails, silently), no effective set: execve makes the
        // ambient set the permitted and effective ones. init execs busybox directly, as does each exec.
        string bundle = Bundle("sleep 60");
        EditConfig(bundle, c =>
        {
            c["process"]!["args"] = new JsonArray("sleep", "60");
            c["process"]!["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 };
            c["process"]!["capabilities"] = Capabilities(
                ["CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_KILL"], [], ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"], ["CAP_NET_BIND_SERVICE"], ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]);
        });
        string process = Path.Combine(bundle, "process.json");
        var spec = new JsonObject
        {
            ["args"] = new JsonArray("busybox", "grep", "Cap", "/proc/self/status"),
            ["cwd"] = "/",
            ["env"] = new JsonArray("PATH=/bin"),
            ["user"] = new JsonObject { ["uid"] = 1000, ["gid"] = 1000 },
            ["capabilities"] = Capabilities(["CAP_NET_BIND_SERVICE"], ["CAP_NET_BIND_SERVICE"], ["CAP_NET_BIND_SERVICE"], ["CAP_NET_BIND_SERVICE"], ["CAP_NET_BIND_SERVICE"]),
        };
        File.WriteAllText(process, spec.ToJsonString());
        string[] outputs = ExecUnderRuncAndMoat(bundle, (runtime, state, id) =>
        {
            // The exec takes the container's process spec (its capabilities), then one of its own.
            RunResult r = Runtime(runtime, state, "exec", id, "busybox", "grep", "Cap", "/proc/self/status");
            Assert.True(r.ExitCode == 0, r.Stderr);
            string seen = r.StdoutText;
            r = Runtime(runtime, state, "exec", "--process", process, id);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return seen + "--\n" + r.StdoutText;
        });
        Assert.Equal(
            "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000421\nCapAmb:\t0000000000000400\n--\n"
            + "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\nCapBnd:\t0000000000000400\nCapAmb:\t0000000000000400\n",
            outputs[1]);

        // init itself, run in the foreground: the same sets.
        EditConfig(bundle, c => c["process"]!["args"] = new JsonArray("busybox", "grep", "Cap", "/proc/self/status"));
        outputs = RunUnderRuncAndMoat(bundle);
        Assert.Contains("CapPrm:\t0000000000000400\nCapEff:\t0000000000000400\n", outputs[1], System.StringComparison.Ordinal);
    }
}
