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
    public void RenamingAHostDirectory_IsEXDEV_AsOverlayfsAnswers()
    {
        string dir = HostScratch.NewDirectory("overlay-exdev");
        Directory.CreateDirectory(Path.Combine(dir, "hostdir"));
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", "mv -T hostdir other 2>/dev/null; test -d other && echo moved"], dir);

        // busybox mv falls back to copy + delete on EXDEV, like coreutils: the result is a move all the same.
        Assert.Equal("moved\n", r.StdoutText);
        Assert.True(Directory.Exists(Path.Combine(dir, "hostdir")));
    }
}
