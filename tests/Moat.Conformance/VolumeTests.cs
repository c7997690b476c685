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

        // A socket's node that a host process bound and closed: nothing listens there.
        using (var s = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            s.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(dir, "hostsock")));
        }

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
                : IsSocket(path) ? "socket"
                : File.ReadAllText(path);
            string mode = info.LinkTarget != null ? string.Empty : Convert.ToString((int)File.GetUnixFileMode(path), 8);
            lines.Add($"{rel} {mode} {what}");
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);
    }

    // A unix socket's node, which cannot be opened to read.
    private static bool IsSocket(string path)
    {
        RunResult r = ProcessRunner.Run("stat", ["-c", "%F", path], HostScratch.Root);
        return r.StdoutText.Trim() == "socket";
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

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void Volume_TruncatedByTheHost_WhileMappedPrivately(string flavour)
    {
        // trunc_host natively beside a host truncate, and under Moat on a volume whose file the host truncates
        // behind the sandbox's back. All but the pages the mapping held match; those Linux unmaps (SIGBUS) and
        // Moat, not told of the host's change, keeps (docs/sentry-notes.md, "Staleness policy").
        string program = Path.Combine(_programs.Dir(flavour), "trunc_host");
        string nativeDir = HostScratch.NewDirectory("trunc-host-native");
        string native = RunBesideHostTruncate(nativeDir, () =>
        {
            var psi = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
            psi.ArgumentList.Add(nativeDir);
            return System.Diagnostics.Process.Start(psi)!;
        });
        string moatDir = HostScratch.NewDirectory("trunc-host-moat");
        string moat = RunBesideHostTruncate(moatDir, () => MoatCli.StartWithOptions(HostScratch.Root, ["--volume", moatDir + ":/th"], program, "/th"));

        const string Held = "held page 1: SIGBUS\nheld page 3: SIGBUS\n";
        Assert.EndsWith(Held, native);
        Assert.Contains("page 2 after MADV_DONTNEED: SIGBUS\nfresh mapping page 0: a\nfresh mapping page 1: SIGBUS\n", native);
        Assert.Equal(native[..^Held.Length], moat[..^Math.Min(moat.Length, "held page 1: b\nheld page 3: W\n".Length)]);
        Assert.EndsWith("held page 1: b\nheld page 3: W\n", moat);
    }

    // Runs a trunc_host process working in dir: once it says it is ready, the host cuts dir/f to one page and
    // makes dir/go. Returns its output.
    private static string RunBesideHostTruncate(string dir, Func<System.Diagnostics.Process> start)
    {
        using System.Diagnostics.Process p = start();
        System.Threading.Tasks.Task<string> output = p.StandardOutput.ReadToEndAsync();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(dir, "ready")) && !p.HasExited && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            System.Threading.Thread.Sleep(20);
        }

        using (var f = new FileStream(Path.Combine(dir, "f"), FileMode.Open, FileAccess.Write))
        {
            f.SetLength(4096);
        }

        File.WriteAllText(Path.Combine(dir, "go"), string.Empty);
        Assert.True(p.WaitForExit(60_000), "trunc_host did not finish");
        Assert.Equal(0, p.ExitCode);
        return output.Result;
    }

    [Fact]
    public void HostLinksIntoMounts_LeadIntoTheMounts()
    {
        // Links of the root file system met during a walk whose targets lie below a mount of the sandbox (a
        // volume, its /proc) lead into the mount, as Linux's walk crosses it, never to what the host keeps below
        // the mount point (reads, stat, a create through a dangling link, a listing, execve, readlink -f), nor do
        // links the sandbox makes: natively a bind at MP, under Moat a volume there (on the host MP is an empty
        // directory).
        string vol = HostScratch.NewDirectory("vol-linked");
        File.WriteAllText(Path.Combine(vol, "f"), "in the volume\n");
        Directory.CreateDirectory(Path.Combine(vol, "sub"));
        File.CreateSymbolicLink(Path.Combine(vol, "sub", "up"), "../f");
        string mp = HostScratch.NewDirectory("links-mp");
        string dir = HostScratch.NewDirectory("links-into-mounts");
        File.CreateSymbolicLink(Path.Combine(dir, "file"), Path.Combine(mp, "f"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "dir"), mp);
        Directory.CreateSymbolicLink(Path.Combine(dir, "reldir"), "../" + Path.GetFileName(mp) + "/sub");
        File.CreateSymbolicLink(Path.Combine(dir, "missing"), Path.Combine(mp, "new"));
        File.CreateSymbolicLink(Path.Combine(dir, "mounts"), "/proc/self/mounts");
        File.Copy("/bin/busybox", Path.Combine(vol, "busybox"));
        File.CreateSymbolicLink(Path.Combine(dir, "busybox"), Path.Combine(mp, "busybox"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "self"), "/proc/self");
        const string Script = "cd \"$1\"; cat file; cat dir/f; cat reldir/up; cat reldir/../f; echo made > missing; cat \"$2/new\"; " +
            "test \"$(stat -L -c %i file)\" = \"$(stat -c %i \"$2/f\")\" && echo same inode; ls dir; readlink -f reldir/up | sed \"s|^$2|MP|\"; " +
            "grep -c \" $2 \" mounts; grep -c \"^PPid:\" self/status; test -x dir/sub && echo a directory; ./busybox echo run through a link; " +
            "ln -s \"$2/sub\" made; cat made/up; rm made missing; echo end";

        RunResult native = ProcessRunner.Run("unshare", ["-m", "sh", "-c", $"mount --bind '{vol}' '{mp}' && exec /bin/busybox sh -c '{Script}' sh '{dir}' '{mp}'"], HostScratch.Root);
        Assert.True(native.ExitCode == 0, $"native run failed ({native.ExitCode}): {native.Stderr}");
        File.Delete(Path.Combine(vol, "new"));
        File.CreateSymbolicLink(Path.Combine(dir, "missing"), Path.Combine(mp, "new"));

        RunResult moat = MoatCli.Do(["/bin/busybox", "sh", "-c", Script, "sh", dir, mp], HostScratch.Root, null, "--volume", vol + ":" + mp);

        Assert.Equal("in the volume\nin the volume\nin the volume\nin the volume\nmade\nsame inode\nbusybox\nf\nnew\nsub\nMP/f\n1\n1\na directory\n" +
            "run through a link\nin the volume\nend\n", native.StdoutText);
        Assert.Equal(native.StdoutText, moat.StdoutText);
        Assert.Equal("made\n", File.ReadAllText(Path.Combine(vol, "new")));
        Assert.Empty(Directory.GetFileSystemEntries(mp));
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

    // A ".." in a link's target, met after another link that leads into a volume: /tmp/q/e -> k/../prog with
    // k -> /v/l and l -> d/a/b (in the volume) runs /v/d/a/prog, for execve and for a #! interpreter, as Linux's
    // walk does; the loader's own walk used to cancel it lexically (/v/prog: "not found").
    [Fact]
    public void ExecThroughLinksThatClimbAfterALinkIntoAVolume_RunsWhatLinuxRuns()
    {
        string vol = HostScratch.NewDirectory("vol-exec-dotdot");
        Directory.CreateDirectory(Path.Combine(vol, "d/a/b"));
        File.WriteAllText(Path.Combine(vol, "d/a/prog"), "#!/bin/sh\necho deep\n");
        File.WriteAllText(Path.Combine(vol, "prog"), "#!/bin/sh\necho shallow\n");
        File.SetUnixFileMode(Path.Combine(vol, "d/a/prog"), (UnixFileMode)0x1ED);
        File.SetUnixFileMode(Path.Combine(vol, "prog"), (UnixFileMode)0x1ED);
        File.CreateSymbolicLink(Path.Combine(vol, "l"), "d/a/b");
        const string Script = "mkdir -p /tmp/q && cd /tmp/q && ln -s /v/l k && ln -s k/../prog e && ./e && /tmp/q/e && " +
            "printf '#!/tmp/q/k/../prog\\n' > s && chmod +x s && ./s";
        RunResult r = MoatCli.Do(["/bin/sh", "-c", Script], HostScratch.Root, null, "--volume", vol + ":/v:ro");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("deep\ndeep\ndeep\n", r.StdoutText);
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
