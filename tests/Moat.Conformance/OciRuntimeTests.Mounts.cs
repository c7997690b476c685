using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>linux.maskedPaths and linux.readonlyPaths, and mount points a bare image lacks, compared with runc.</summary>
public sealed partial class OciRuntimeTests
{
    [Fact]
    public void Run_MaskedAndReadonlyPaths_AreMountedOver_AsUnderRunc()
    {
        // runc spec's lists (/proc/sys read-only, /sys/firmware masked, the rest absent from one /proc or the other
        // and so skipped), plus a masked file, a masked directory, a read-only directory of a writable root, and
        // paths that do not exist (skipped, not an error). mountinfo's root is shown by its last name: under runc a
        // bind's root is the host path.
        string bundle = Bundle("""
            {
              cat /etc/secret; echo "cat $?"; ls /secret-dir; echo "ls $?"; touch /secret-dir/x; echo "touch masked dir $?"
              echo x > /etc/secret; echo "write masked file $?"; touch /data/g; echo "touch ro dir $?"; cat /data/f
              echo 1 > /proc/sys/kernel/hostname; echo "write /proc/sys $?"; ls /sys/firmware; echo "ls firmware $?"
              busybox grep -E ' (/secret-dir|/sys/firmware|/etc/secret|/data|/proc/sys) ' /proc/self/mountinfo | while read id parent dev root point opts rest; do echo "${root##*/} $point ${opts%%,*}"; done
            } 2>&1
            """);
        string rootfs = Path.Combine(bundle, "rootfs");
        foreach (string dir in new[] { "etc", "secret-dir", "data", "proc", "sys", "dev", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(rootfs, dir));
        }

        File.WriteAllText(Path.Combine(rootfs, "etc", "secret"), "top secret\n");
        File.WriteAllText(Path.Combine(rootfs, "secret-dir", "f"), "hidden\n");
        File.WriteAllText(Path.Combine(rootfs, "data", "f"), "data\n");
        EditConfig(bundle, c =>
        {
            c["root"]!["readonly"] = false;
            c["linux"]!["maskedPaths"]!.AsArray().Add("/etc/secret");
            c["linux"]!["maskedPaths"]!.AsArray().Add("/secret-dir");
            c["linux"]!["maskedPaths"]!.AsArray().Add("/no-such-file");
            c["linux"]!["readonlyPaths"]!.AsArray().Add("/data");
            c["linux"]!["readonlyPaths"]!.AsArray().Add("/no-such-dir");
        });
        string[] outputs = RunUnderRuncAndMoat(bundle);
        Assert.Equal(
            """
            cat 0
            ls 0
            touch: /secret-dir/x: Read-only file system
            touch masked dir 1
            write masked file 0
            touch: /data/g: Read-only file system
            touch ro dir 1
            data
            sh: can't create /proc/sys/kernel/hostname: Read-only file system
            write /proc/sys 1
            ls firmware 0
            sys /proc/sys ro
            data /data ro
             /sys/firmware ro
            null /etc/secret rw
             /secret-dir ro

            """.ReplaceLineEndings("\n"),
            outputs[1]);
        Assert.Equal("top secret\n", File.ReadAllText(Path.Combine(rootfs, "etc", "secret")));
    }

    [Fact]
    public void Run_ARootfsWithoutMountPoints_ListsThemInRoot_AsUnderRunc()
    {
        // A bare image (only /bin): runc makes /proc, /dev and /sys in the rootfs before it mounts them there; moat
        // shows them in the sandbox only (moat runs first, so the rootfs is still bare), and the rootfs stays as it was.
        string bundle = Bundle("ls /; ls -d /proc/self /dev/null /sys/kernel");
        string rootfs = Path.Combine(bundle, "rootfs");
        RunResult moat = Runtime("moat", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "m" + System.Guid.NewGuid().ToString("N")[..8]);
        Assert.True(moat.ExitCode == 0, moat.Stderr);
        Assert.Equal(["bin"], Directory.GetFileSystemEntries(rootfs).Select(Path.GetFileName));
        RunResult runc = Runtime("runc", HostScratch.NewDirectory("state"), "run", "--bundle", bundle, "r" + System.Guid.NewGuid().ToString("N")[..8]);
        Assert.True(runc.ExitCode == 0, runc.Stderr);
        Assert.Equal("bin\ndev\nproc\nsys\n/dev/null\n/proc/self\n/sys/kernel\n", runc.StdoutText);
        Assert.Equal(runc.StdoutText, moat.StdoutText);
    }
}
