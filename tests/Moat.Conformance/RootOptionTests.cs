using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary><c>moat do --root DIR</c>: the sandbox sees DIR as its root, cannot leave it, and never writes to it.</summary>
public sealed class RootOptionTests
{
    private static string MakeRoot()
    {
        string root = HostScratch.NewDirectory("root");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        File.WriteAllText(Path.Combine(root, "etc", "hostname"), "inside\n");
        File.CreateSymbolicLink(Path.Combine(root, "etc", "escape"), "/../../../etc/passwd");
        return root;
    }

    [Fact]
    public void Root_FilesComeFromTheDirectory_StartsInSlash()
    {
        string root = MakeRoot();
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", "cat /etc/hostname; pwd; ls /etc"], HostScratch.Root, null, "--root", root);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("inside\n/\nescape\nhostname\n", r.StdoutText);
    }

    [Fact]
    public void Root_DotDotAndSymlinksStayInside()
    {
        string root = MakeRoot();
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", "cat /../../etc/passwd; cat /etc/escape; cat /proc/1/root/../etc/passwd; echo end"], HostScratch.Root, null, "--root", root);
        Assert.DoesNotContain("root:", r.StdoutText);
        Assert.EndsWith("end\n", r.StdoutText);
    }

    [Fact]
    public void Root_WritesStayInTheSandbox()
    {
        string root = MakeRoot();
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", "echo changed > /etc/hostname; echo new > /new; cat /etc/hostname /new; rm /bin/busybox"], HostScratch.Root, null, "--root", root);
        Assert.Equal("changed\nnew\n", r.StdoutText);
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(root, "etc", "hostname")));
        Assert.False(File.Exists(Path.Combine(root, "new")));
        Assert.True(File.Exists(Path.Combine(root, "bin", "busybox")));
    }

    [Fact]
    public void Root_NotADirectory_IsAClearError()
    {
        RunResult r = MoatCli.Do(["/bin/true"], HostScratch.Root, null, "--root", "/nonexistent-moat-root");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("not a directory", r.Stderr);
    }
}
