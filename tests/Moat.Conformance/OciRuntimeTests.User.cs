using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>process.user beyond uid and gid, compared with runc.</summary>
public sealed partial class OciRuntimeTests
{
    [Fact]
    public void RunAndExec_UserUmask_IsTheProcesssUmask_AsUnderRunc()
    {
        // umask 0077: what init creates is its own alone; runc sets it for init only, an exec has the runtime's 022.
        // The writable root is the bundle's rootfs under runc, so the script removes what it made.
        string bundle = Bundle("umask; mkdir /d; touch /f; ls -ld /d /f | while read mode rest; do echo $mode; done; rm -r /d /f; sleep 60");
        EditConfig(bundle, c =>
        {
            c["root"]!["readonly"] = false;
            c["process"]!["user"]!["umask"] = 0x3F; // 0077
        });
        string[] outputs = ExecUnderRuncAndMoat(bundle, (runtime, state, id) =>
        {
            RunResult r = Runtime(runtime, state, "exec", id, "sh", "-c", "umask");
            Assert.True(r.ExitCode == 0, r.Stderr);
            return r.StdoutText;
        });
        Assert.Equal("0022\n", outputs[1]);

        EditConfig(bundle, c => c["process"]!["args"] = new JsonArray("sh", "-c", "umask; mkdir /d; touch /f; ls -ld /d /f | while read mode rest; do echo $mode; done; rm -r /d /f"));
        outputs = RunUnderRuncAndMoat(bundle);
        Assert.Equal("0077\ndrwx------\n-rw-------\n", outputs[1]);
    }
}
