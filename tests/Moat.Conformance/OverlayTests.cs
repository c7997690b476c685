using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>The root is the host's, read-only, under an in-sandbox upper layer: changes are seen inside, never outside.</summary>
public sealed class OverlayTests
{
    [Fact]
    public void Changes_AreVisibleInside_AndTheHostIsUntouched()
    {
        string dir = HostScratch.NewDirectory("overlay");
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "original\n");
        File.WriteAllText(Path.Combine(dir, "gone.txt"), "bye\n");
        Directory.CreateDirectory(Path.Combine(dir, "d"));
        File.WriteAllText(Path.Combine(dir, "d", "f"), "inner\n");

        const string Script =
            "echo new > created.txt; echo changed >> keep.txt; rm gone.txt; ls; cat keep.txt; " +
            "mkdir newdir && echo x > newdir/y && ls newdir; mv created.txt d/moved.txt; ls d; " +
            "rm -r d; ls; mv newdir renamed; ls; " +
            "printf '#!/bin/sh\\necho script ran\\n' > s.sh; chmod +x s.sh; ./s.sh; " +
            "test -e gone.txt || echo gone stays gone; mkdir gone.txt && ls -a gone.txt | wc -l";
        RunResult r = MoatCli.Do(["/bin/sh", "-c", Script], dir);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            "created.txt\nd\nkeep.txt\noriginal\nchanged\ny\nf\nmoved.txt\nkeep.txt\nnewdir\nkeep.txt\nrenamed\n" +
            "script ran\ngone stays gone\n2\n",
            r.StdoutText);

        // Nothing of it reached the host.
        Assert.Equal("original\n", File.ReadAllText(Path.Combine(dir, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(dir, "gone.txt")));
        Assert.True(File.Exists(Path.Combine(dir, "d", "f")));
        Assert.False(File.Exists(Path.Combine(dir, "created.txt")));
        Assert.False(Directory.Exists(Path.Combine(dir, "renamed")));
        Assert.False(File.Exists(Path.Combine(dir, "s.sh")));
    }

    [Fact]
    public void ADeletedHostTree_MadeAgain_ShowsNothingOfTheHostsAtAnyDepth()
    {
        // rm -rf d; mkdir -p d/a/b: the new d/a/b is empty, as on Linux, though the host's d/a/b is not (the new
        // d hid the host's, but a directory made inside it used to look through to the host's again).
        string dir = HostScratch.NewDirectory("overlay-remade");
        Directory.CreateDirectory(Path.Combine(dir, "d", "a", "b"));
        File.WriteAllText(Path.Combine(dir, "d", "a", "b", "old"), "host\n");
        File.WriteAllText(Path.Combine(dir, "d", "a", "old"), "host\n");
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "rm -rf d && mkdir -p d/a/b && ls -A d/a d/a/b; test -e d/a/b/old || echo no old; echo new > d/a/b/f; ls d/a/b"], dir);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal("d/a:\nb\n\nd/a/b:\nno old\nf\n", r.StdoutText);
        Assert.True(File.Exists(Path.Combine(dir, "d", "a", "b", "old")));
    }

    [Fact]
    public void AWorkingDirectoryUnderTheHostsTmp_IsReachable_AndWritesStayInside()
    {
        // As with runsc do: the sandbox's /tmp is the host's (through the overlay) when the host's is in use.
        string dir = Directory.CreateTempSubdirectory("moat-cwd-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "prog.sh"), "#!/bin/sh\necho \"ran in $(pwd)\"; cat data.txt; echo more > new.txt; cat new.txt\n");
            File.SetUnixFileMode(Path.Combine(dir, "prog.sh"), (UnixFileMode)0x1ED);
            File.WriteAllText(Path.Combine(dir, "data.txt"), "host data\n");
            RunResult r = MoatCli.Do(["./prog.sh"], dir);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal($"ran in {dir}\nhost data\nmore\n", r.StdoutText);
            Assert.False(File.Exists(Path.Combine(dir, "new.txt")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void RenamingAHostDirectory_IsEXDEV_AsOverlayfsAnswers()
    {
        string dir = HostScratch.NewDirectory("overlay-exdev");
        Directory.CreateDirectory(Path.Combine(dir, "hostdir"));
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", "mv -T hostdir other 2>/dev/null; test -d other && echo moved"], dir);

        // busybox mv falls back to copy + delete on EXDEV, like coreutils: the result is a move all the same.
        Assert.Equal("moved\n", r.StdoutText);
        Assert.True(Directory.Exists(Path.Combine(dir, "hostdir")));
    }

    [Fact]
    public void AttributesOfHostDirectoriesAndSymlinks_ChangeInside_AndTheHostIsUntouched()
    {
        // An entrypoint's "chown app /app", "chmod 700 dir" or "touch -d" of a host directory copies only its
        // attributes up: its entries stay listed; chown -h of a host symlink changes the link, not its target.
        string dir = HostScratch.NewDirectory("overlay-attrs");
        Directory.CreateDirectory(Path.Combine(dir, "hostdir"));
        File.WriteAllText(Path.Combine(dir, "hostdir", "a"), "a\n");
        File.WriteAllText(Path.Combine(dir, "target"), "t\n");
        File.CreateSymbolicLink(Path.Combine(dir, "link"), "target");
        const string Script =
            "chmod 700 hostdir && chown 1000:1000 hostdir && touch -d 2001-01-01 hostdir && " +
            "/bin/busybox stat -c '%a %u %g %y' hostdir | cut -c1-18; ls hostdir; " +
            "chown -h 1000 link && /bin/busybox stat -c '%u' link target; chmod 600 link && /bin/busybox stat -c '%a' target";
        RunResult r = MoatCli.Do(["/bin/sh", "-c", Script], dir);

        Assert.Equal(0, r.ExitCode);
        Assert.Equal("700 1000 1000 2001\na\n1000\n0\n600\n", r.StdoutText);
        var info = new DirectoryInfo(Path.Combine(dir, "hostdir"));
        Assert.NotEqual(2001, info.LastWriteTime.Year);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(Path.Combine(dir, "target")));
    }

    [Fact]
    public void TheRoot_IsOneFileSystem_ForFindXdev_AsNative()
    {
        // Host directories of the root's file system share the root's device; mounts (/proc, /dev, /sys,
        // /run, /tmp) keep theirs. /tmp's contents may differ (a fresh tmpfs inside when the host's is empty), so they are left out.
        const string Script = "find / -xdev -maxdepth 2 | grep -v -e '^/tmp/' -e '^/var/tmp/' | sort";
        RunResult native = ProcessRunner.Run("/bin/sh", ["-c", Script], HostScratch.Root);
        RunResult moat = MoatCli.Do(["/bin/sh", "-c", Script], HostScratch.Root);
        Assert.Equal(0, moat.ExitCode);
        Assert.True(native.StdoutText.Split('\n').Length > 50, native.StdoutText);
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }
}
