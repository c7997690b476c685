using System.Linq;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// statfs is answered by the sandbox's own file systems, not by the host path of the same name: the root is
/// an overlay, /dev/shm is a tmpfs whose use follows what the sandbox wrote, /tmp is a tmpfs only when the
/// host's /tmp is empty (else the host's, through the overlay), /proc is proc, and a directory made inside
/// (which the host lacks) is found. Moat-only: the host's own /tmp need not be tmpfs.
/// </summary>
public sealed class FsStatisticsTests
{
    [Fact]
    public void Statfs_NamesTheSandboxesFileSystems()
    {
        RunResult r = MoatCli.Do(
            ["/bin/busybox", "sh", "-c", "mkdir /tmp/made && /bin/busybox stat -f -c %t / /tmp /tmp/made /dev/shm /proc /dev/pts"],
            HostScratch.Root);
        Assert.Equal(0, r.ExitCode);
        // overlayfs, /tmp twice, tmpfs, proc, devpts: the magic numbers, which busybox prints for any type.
        string tmp = System.IO.Directory.EnumerateFileSystemEntries("/tmp").Any() ? "794c7630" : "1021994";
        Assert.Equal($"794c7630\n{tmp}\n{tmp}\n1021994\n9fa0\n1cd1\n", r.StdoutText);
    }

    [Fact]
    public void Statfs_OfTmpfs_CountsWhatTheSandboxWrote()
    {
        const string Script =
            "a=$(/bin/busybox stat -f -c %f /dev/shm); /bin/busybox dd if=/dev/zero of=/dev/shm/f bs=4096 count=256 2>/dev/null; " +
            "b=$(/bin/busybox stat -f -c %f /dev/shm); echo $((a - b))";
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", Script], HostScratch.Root);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("256\n", r.StdoutText);
    }

    // df and find -xdev match a file's st_dev against mountinfo's major:minor: every mount point's stat must name the
    // device its mountinfo line names (the root overlay said 0:1 where its files say 1:1; mqueue shared /proc's 0:22).
    // No mount inside is covered by another, so unlike on a host every line must match; the devices also differ
    // between file systems (devpts is served by /dev's tmpfs and shares its device: one known exception).
    [Fact]
    public void EveryMountPoint_HasTheDeviceItsMountinfoLineNames_AndFileSystemsDiffer()
    {
        const string Script =
            "while read id parent majmin root mp rest; do x=$(/bin/busybox stat -c %D \"$mp\") || exit 1; x=$((0x$x)); " +
            "d=$(((x >> 8) & 0xfff)):$(((x & 0xff) | ((x >> 12) & 0xfff00))); " +
            "[ \"$d\" = \"$majmin\" ] || echo \"$mp: $d, mountinfo $majmin\"; echo \"$majmin $mp\" >> /tmp/devs; done < /proc/self/mountinfo; " +
            "grep -v ' /dev/pts$' /tmp/devs | cut -d' ' -f1 | sort | uniq -d | sed 's/^/shared: /'";
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", Script], HostScratch.Root);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(string.Empty, r.StdoutText);
    }

    [Fact]
    public void Statfs_OfAMissingPath_IsENOENT()
    {
        RunResult r = MoatCli.Do(["/bin/busybox", "stat", "-f", "/no/such/dir"], HostScratch.Root);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("No such file", r.Stderr, System.StringComparison.Ordinal);
    }
}
