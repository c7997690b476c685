using System;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The containerd configuration docs/oci.md gives for a Kubernetes RuntimeClass named <c>moat</c> is one
/// containerd's CRI plugin loads: the block is read from the document itself, so the two cannot drift apart.
/// </summary>
public sealed class OciCriConfigTests : IClassFixture<OciCriConfigTests.CriContainerd>
{
    private readonly CriContainerd _cri;

    public OciCriConfigTests(CriContainerd cri)
    {
        _cri = cri;
    }

    [Fact]
    public void RuntimeClassHandler_FromTheDocs_IsLoadedByTheCriPlugin()
    {
        Containerd ctd = _cri.Daemon;
        Assert.True(ctd.Problem == null, ctd.Problem);

        RunResult plugins = ctd.Ctr("plugins", "ls");
        Assert.Equal(0, plugins.ExitCode);
        string? cri = Array.Find(plugins.StdoutText.Split('\n'), l => l.StartsWith("io.containerd.grpc.v1", StringComparison.Ordinal) && l.Contains(" cri ", StringComparison.Ordinal));
        Assert.True(cri != null, plugins.StdoutText);
        Assert.EndsWith("ok", cri!.TrimEnd());

        // The plugin logs the configuration it started with: the handler, its shim and Moat as the binary.
        string log = ctd.Log;
        Assert.Contains("Start cri plugin with config", log);
        Assert.Contains("moat:{Type:io.containerd.runc.v2", log);
        Assert.Contains("BinaryName:" + _cri.Binary, log);
    }

    /// <summary>A containerd whose CRI plugin has the docs' runtime handlers, Moat's binary being the one under test.</summary>
    public sealed class CriContainerd : IDisposable
    {
        public CriContainerd()
        {
            Binary = MoatCli.Command.File;
            Daemon = new Containerd(DocsBlock().Replace("/usr/local/bin/moat", Binary, StringComparison.Ordinal));
        }

        public string Binary { get; }

        public Containerd Daemon { get; }

        public void Dispose() => Daemon.Dispose();

        // The ```toml block after the cri-config marker of docs/oci.md.
        private static string DocsBlock()
        {
            string? dir = AppContext.BaseDirectory;
            while (dir != null && !File.Exists(Path.Combine(dir, "docs", "oci.md")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            Assert.True(dir != null, "docs/oci.md not found above " + AppContext.BaseDirectory);
            string doc = File.ReadAllText(Path.Combine(dir, "docs", "oci.md"));
            int marker = doc.IndexOf("<!-- cri-config", StringComparison.Ordinal);
            Assert.True(marker >= 0, "docs/oci.md has no cri-config block");
            int start = doc.IndexOf("```toml\n", marker, StringComparison.Ordinal) + "```toml\n".Length;
            int end = doc.IndexOf("```", start, StringComparison.Ordinal);
            return doc[start..end];
        }
    }
}
