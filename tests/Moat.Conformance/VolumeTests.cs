using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// <c>moat do --volume HOST:SANDBOX[:ro|rw]</c>: the program <c>volume</c> runs natively in a real bind mount
/// (made in a private mount namespace with <c>unshare -m</c>) and under Moat on a volume; the output (errno
/// names in Linux's order, modes, sizes, listings) and the host directory afterwards must match.
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class VolumeTests
{
    private readonly CProgramsFixture _programs;

    public VolumeTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    // The fixture tree volume.c expects.
    private static string MakeTree(string prefix)
    {
        string dir = HostScratch.NewDirectory(prefix);
        Directory.CreateDirectory(Path.Combine(dir, "d"));
        Directory.CreateDirectory(Path.Combine(dir, "e"));
        File.WriteAllText(Path.Combine(dir, "f"), "data\n");
        File.WriteAllText(Path.Combine(dir, "d", "inner"), "inner\n");
        File.CreateSymbolicLink(Path.Combine(dir, "lnk"), "f");
        return dir;
    }

    // Every entry below dir: path, type, mode, owner, size, content or link target.
    private static string Snapshot(string dir)
    {
        var lines = new List<string>();
        foreach (string path in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
        {
            var info = new FileInfo(path);
            string rel = Path.GetRelativePath(dir, path);
            string what = info.LinkTarget != null ? "-> " + info.LinkTarget
                : Directory.Exists(path) ? "dir"
                : File.ReadAllText(path);
            string mode = info.LinkTarget != null ? string.Empty : Convert.ToString((int)File.GetUnixFileMode(path), 8);
            lines.Add($"{rel} {mode} {what}");
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);
    }

    [Theory]
    [InlineData("static", "ro")]
    [InlineData("static", "rw")]
    [InlineData("dynamic", "rw")]
    public void Volume_BehavesAsABindMount(string flavour, string mode)
    {
        string program = Path.Combine(_programs.Dir(flavour), "volume");
        string nativeDir = MakeTree("vol-native");
        string moatDir = MakeTree("vol-moat");
        string before = Snapshot(moatDir);
        string mountPoint = HostScratch.NewDirectory("vol-mp");

        string remount = mode == "ro" ? $"mount -o remount,bind,ro '{mountPoint}' && " : string.Empty;
        RunResult native = ProcessRunner.Run("unshare", ["-m", "sh", "-c", $"mount --bind '{nativeDir}' '{mountPoint}' && {remount}exec '{program}' '{mountPoint}'"], HostScratch.Root);
        Assert.True(native.ExitCode == 0, $"native run failed ({native.ExitCode}): {native.Stderr}");

        RunResult moat = MoatCli.Do([program, mountPoint], HostScratch.Root, null, "--volume", $"{moatDir}:{mountPoint}:{mode}");

        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Equal(native.ExitCode, moat.ExitCode);

        // The host side: a read-write volume changed the host exactly as the bind mount did; a read-only one not at all.
        Assert.Equal(Snapshot(nativeDir), Snapshot(moatDir));
        if (mode == "ro")
        {
            Assert.Equal(before, Snapshot(moatDir));
        }
        else
        {
            Assert.Equal("Hello volume\n", File.ReadAllText(Path.Combine(moatDir, "written")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(Path.Combine(moatDir, "written")));
        }
    }

    [Fact]
    public void Volume_EscapesByDotDotAndSymlinks_NeverReachTheHostOutside()
    {
        const string Secret = "host secret outside the volume";
        string top = HostScratch.NewDirectory("vol-escape");
        string outside = Path.Combine(top, "outside.txt");
        File.WriteAllText(outside, Secret + "\n");
        string root = Path.Combine(top, "root");
        Directory.CreateDirectory(Path.Combine(root, "bin"));
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        File.WriteAllText(Path.Combine(root, "etc", "hostname"), "inside\n");
        string vol = Path.Combine(top, "vol");
        Directory.CreateDirectory(vol);
        File.WriteAllText(Path.Combine(vol, "mine"), "mine\n");
        File.CreateSymbolicLink(Path.Combine(vol, "abs"), outside);
        File.CreateSymbolicLink(Path.Combine(vol, "rel"), "../../../../../../../.." + outside);
        File.CreateSymbolicLink(Path.Combine(vol, "up"), "../outside.txt");
        Directory.CreateSymbolicLink(Path.Combine(vol, "updir"), "..");
        Directory.CreateSymbolicLink(Path.Combine(vol, "topdir"), top);
        File.CreateSymbolicLink(Path.Combine(vol, "sandbox-etc"), "/etc/hostname");

        // Inside, a symlink is resolved in the sandbox's tree (as Linux resolves one on a bind mount): where
        // it points out of the volume it finds the sandbox's root (DIR), never the host's files around it.
        const string Script =
            "cd /data; cat mine; cat abs; cat rel; cat up; cat updir/outside.txt; cat topdir/outside.txt; cat ../outside.txt; " +
            "cat /data/../../outside.txt; cat sandbox-etc; echo pwned > abs; echo pwned > up; echo pwned > topdir/outside.txt; " +
            "mkdir updir/made; ln -s x topdir/made-link; rm topdir/outside.txt; mv mine topdir/moved; chmod 777 abs; " +
            "grep -c /data /proc/self/mountinfo; echo end";
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", Script], HostScratch.Root, null, "--root", root, "--volume", vol + ":/data");

        Assert.DoesNotContain("secret", r.StdoutText);
        Assert.StartsWith("mine\n", r.StdoutText);
        Assert.Contains("inside\n", r.StdoutText);
        Assert.EndsWith("1\nend\n", r.StdoutText);
        Assert.Equal(Secret + "\n", File.ReadAllText(outside));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(outside) & (UnixFileMode)0x1FF);
        Assert.Equal(["outside.txt", "root", "vol"], Sorted(Directory.GetFileSystemEntries(top)));
        Assert.Equal(["abs", "mine", "rel", "sandbox-etc", "topdir", "up", "updir"], Sorted(Directory.GetFileSystemEntries(vol)));
    }

    private static string[] Sorted(string[] paths)
    {
        string[] names = Array.ConvertAll(paths, p => Path.GetFileName(p));
        Array.Sort(names, StringComparer.Ordinal);
        return names;
    }

    [Fact]
    public void Volume_RelativeLinkClimbingOut_ResolvesFromTheMountPoint()
    {
        // A relative link at a volume's root (or below it) that climbs above the volume names what lies beside
        // the mount point in the sandbox, as on a bind mount, even where the mount point exists only in the
        // sandbox. Natively: a bind at P/v, P/etc/hostname beside it; under Moat: a volume at /v-... (no such
        // host directory), whose parent "/" holds the sandbox's /etc/hostname.
        string text = File.ReadAllText("/etc/hostname");
        string vol = HostScratch.NewDirectory("vol-climb");
        Directory.CreateDirectory(Path.Combine(vol, "sub"));
        File.WriteAllText(Path.Combine(vol, "f"), "in the volume\n");
        File.CreateSymbolicLink(Path.Combine(vol, "l"), "../etc/hostname");
        File.CreateSymbolicLink(Path.Combine(vol, "sub", "l2"), "../../etc/hostname");
        File.CreateSymbolicLink(Path.Combine(vol, "sub", "in"), "../f");
        Directory.CreateSymbolicLink(Path.Combine(vol, "up"), "..");
        const string Script = "cd \"$1\"; cat l; cat sub/l2; cat sub/in; cat up/etc/hostname; cd sub; cat ../../etc/hostname; " +
            "cd ../..; cat etc/hostname; cd -P \"$1\"; cd -P ..; cat etc/hostname; readlink -f \"$1/l\" | sed \"s|^$2||\"; echo end";

        string parent = HostScratch.NewDirectory("vol-climb-native");
        Directory.CreateDirectory(Path.Combine(parent, "etc"));
        Directory.CreateDirectory(Path.Combine(parent, "v"));
        File.WriteAllText(Path.Combine(parent, "etc", "hostname"), text);
        string mp = Path.Combine(parent, "v");
        RunResult native = ProcessRunner.Run("unshare", ["-m", "sh", "-c", $"mount --bind '{vol}' '{mp}' && exec /bin/busybox sh -c '{Script}' sh '{mp}' '{parent}'"], HostScratch.Root);
        Assert.True(native.ExitCode == 0, $"native run failed ({native.ExitCode}): {native.Stderr}");

        string sandboxMp = "/v-" + Path.GetFileName(vol);
        Assert.False(Directory.Exists(sandboxMp));
        RunResult moat = MoatCli.Do(["/bin/busybox", "sh", "-c", Script, "sh", sandboxMp, string.Empty], HostScratch.Root, null, "--volume", vol + ":" + sandboxMp);

        Assert.Equal(string.Concat(Enumerable.Repeat(text, 2)) + "in the volume\n" + string.Concat(Enumerable.Repeat(text, 4)) + "/etc/hostname\nend\n", native.StdoutText);
        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Equal(0, moat.ExitCode);
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void Volume_Truncate_TakesPagesOutOfPrivateMappings(string flavour)
    {
        // trunc_private natively in a host directory, and under Moat in the same kind of directory bound as a volume.
        string program = Path.Combine(_programs.Dir(flavour), "trunc_private");
        string nativeDir = HostScratch.NewDirectory("trunc-native");
        RunResult native = ProcessRunner.Run(program, [nativeDir], HostScratch.Root);
        Assert.True(native.ExitCode == 0, $"native run failed ({native.ExitCode}): {native.Stderr}");
        Assert.Contains("ftruncate: after: 97 -1 -1 -1\n", native.StdoutText);

        string moatDir = HostScratch.NewDirectory("trunc-moat");
        RunResult moat = MoatCli.Do([program, "/trunc"], HostScratch.Root, null, "--volume", moatDir + ":/trunc");

        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Equal(0, moat.ExitCode);
    }

    [Fact]
    public void Volume_WritesAndRemovals_AreSeenAtOnce()
    {
        string vol = HostScratch.NewDirectory("vol-fresh");
        File.WriteAllText(Path.Combine(vol, "f"), "one\n");
        const string Script = "cat /v/f; echo two > /v/f; cat /v/f; stat -c %s /v/f; echo three >> /v/f; stat -c %s /v/f; " +
            "rm /v/f; test -e /v/f || echo gone; mkdir /v/f; test -d /v/f && echo dir";
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", Script], HostScratch.Root, null, "--volume", vol + ":/v:rw");

        Assert.Equal("one\ntwo\n4\n10\ngone\ndir\n", r.StdoutText);
        Assert.True(Directory.Exists(Path.Combine(vol, "f")));
    }

    [Fact]
    public void ProgramsAndScriptsOnAVolume_Run()
    {
        string vol = HostScratch.NewDirectory("vol-exec");
        File.Copy("/bin/busybox", Path.Combine(vol, "busybox"));
        File.WriteAllText(Path.Combine(vol, "s.sh"), "#!/v/busybox sh\necho script on a volume\n");
        File.SetUnixFileMode(Path.Combine(vol, "s.sh"), (UnixFileMode)0x1ED);
        RunResult r = MoatCli.Do(["/v/s.sh"], HostScratch.Root, null, "--volume", vol + ":/v:ro");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("script on a volume\n", r.StdoutText);
        r = MoatCli.Do(["/v/busybox", "echo", "binary on a volume"], HostScratch.Root, null, "--volume", vol + ":/v:ro");
        Assert.Equal("binary on a volume\n", r.StdoutText);
    }

    [Fact]
    public void ASingleFile_CanBeBound_ReadOnlyOrReadWrite()
    {
        string dir = HostScratch.NewDirectory("vol-file");
        string ro = Path.Combine(dir, "ro.txt");
        string rw = Path.Combine(dir, "rw.txt");
        File.WriteAllText(ro, "read only\n");
        File.WriteAllText(rw, "before\n");
        const string Script =
            "cat /etc/bound; echo x >> /etc/bound 2>/dev/null || echo refused; echo after > /new/dir/rw; " +
            "rm /etc/bound 2>/dev/null || echo busy; cat /etc/bound/x 2>/dev/null || echo not a directory; ls /new/dir";
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", Script], HostScratch.Root, null, "--volume", ro + ":/etc/bound:ro", "--volume", rw + ":/new/dir/rw");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("read only\nrefused\nbusy\nnot a directory\nrw\n", r.StdoutText);
        Assert.Equal("after\n", File.ReadAllText(rw));
        Assert.Equal("read only\n", File.ReadAllText(ro));
    }

    [Theory]
    [InlineData("/nonexistent-moat-volume:/data", "no such directory or file")]
    [InlineData("{0}:relative", "must be absolute")]
    [InlineData("{0}:/proc/x", "cannot bind")]
    [InlineData("{0}:/data:rx", "want HOST:SANDBOX")]
    [InlineData("{0}", "want HOST:SANDBOX")]
    public void Volume_BadSpec_IsAClearError(string spec, string message)
    {
        string dir = HostScratch.NewDirectory("vol-bad");
        RunResult r = MoatCli.Do(["/bin/true"], HostScratch.Root, null, "--volume", string.Format(System.Globalization.CultureInfo.InvariantCulture, spec, dir));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
    }
}
