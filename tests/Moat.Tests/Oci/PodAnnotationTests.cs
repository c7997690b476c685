using System.Collections.Generic;
using System.Text.Json;
using Moat.Cli.Oci;

namespace Moat.Tests.Oci;

/// <summary>Which containers run in a pod's sandbox (the CRI plugin's annotations) and what the sandbox is sent.</summary>
public sealed class PodAnnotationTests
{
    [Fact]
    public void PodSandboxId_OnlyForAContainerNamingItsSandbox()
    {
        Assert.Null(RuntimeCommand.PodSandboxId(null));
        Assert.Null(RuntimeCommand.PodSandboxId([]));
        // The pause container makes the sandbox.
        Assert.Null(RuntimeCommand.PodSandboxId(new Dictionary<string, string>
        {
            ["io.kubernetes.cri.container-type"] = "sandbox",
            ["io.kubernetes.cri.sandbox-id"] = "pod1",
        }));
        Assert.Null(RuntimeCommand.PodSandboxId(new Dictionary<string, string> { ["io.kubernetes.cri.container-type"] = "container" }));
        Assert.Null(RuntimeCommand.PodSandboxId(new Dictionary<string, string>
        {
            ["io.kubernetes.cri.container-type"] = "container",
            ["io.kubernetes.cri.sandbox-id"] = string.Empty,
        }));
        Assert.Equal("pod1", RuntimeCommand.PodSandboxId(new Dictionary<string, string>
        {
            ["io.kubernetes.cri.container-type"] = "container",
            ["io.kubernetes.cri.sandbox-id"] = "pod1",
        }));
    }

    [Fact]
    public void PodContainerRequest_RoundTripsThroughItsJson()
    {
        var request = new PodContainerRequest
        {
            Id = "app",
            Rootfs = "/b/rootfs",
            Spec = new OciSpec { Process = new OciProcess { Args = ["sh"], Env = ["HOME=/root"], Cwd = "/" }, Root = new OciRoot { Path = "rootfs", Readonly = true } },
            Tmpfs = [new PodMount { Destination = "/tmp", Options = ["size=1m"] }],
            Binds = [new PodMount { Source = "/etc/hosts", Destination = "/etc/hosts", ReadOnly = true, IsFile = true, Options = ["nosuid"] }],
        };
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(request, OciJson.Default.PodContainerRequest);
        PodContainerRequest back = JsonSerializer.Deserialize(json, OciJson.Default.PodContainerRequest)!;
        Assert.Equal("app", back.Id);
        Assert.Equal("/b/rootfs", back.Rootfs);
        Assert.Equal(["sh"], back.Spec.Process!.Args!);
        Assert.True(back.Spec.Root!.Readonly);
        Assert.Equal("/tmp", back.Tmpfs[0].Destination);
        Assert.Equal(["size=1m"], back.Tmpfs[0].Options);
        Assert.True(back.Binds[0].IsFile && back.Binds[0].ReadOnly);
        Assert.Equal("/etc/hosts", back.Binds[0].Source);
    }
}
