using System;
using System.IO;
using Moat.Cli.Diagnostics;

namespace Moat.Tests.Cli;

public sealed class DiagnosticsTests
{
    private static string NewDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "moat-diag-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void Resolve_DirectoryOrSlash_GetsIdDotCommandDotLog()
    {
        string dir = NewDirectory();
        Assert.Equal(Path.Combine(dir, "42.sentry.log"), DebugLog.Resolve(dir, "42", "sentry"));
        Assert.Equal(Path.Combine(dir, "new", "42.gofer.log"), DebugLog.Resolve(Path.Combine(dir, "new") + "/", "42", "gofer"));
        Assert.Equal(Path.Combine(dir, "moat.log"), DebugLog.Resolve(Path.Combine(dir, "moat.log"), "42", "do"));
        Assert.Equal(Path.Combine(dir, "c1-create.txt"), DebugLog.Resolve(Path.Combine(dir, "%ID%-%COMMAND%.txt"), "c1", "create"));
    }

    [Fact]
    public void Open_WritesWholeStampedLines_AndDebugOnlyWhenVerbose()
    {
        string dir = NewDirectory() + "/logs/";
        using (DebugLog log = DebugLog.Open(dir, verbose: false, "7", "do", out string? error)!)
        {
            Assert.Null(error);
            log.WriteLine("one");
            log.Write("two\nthr");
            log.Write("ee\n");
            log.Debug("not written");
        }

        string[] lines = File.ReadAllLines(Path.Combine(dir, "7.do.log"));
        Assert.Equal(3, lines.Length);
        Assert.EndsWith($" do[{Environment.ProcessId}] one", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("] two", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("] three", lines[2], StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ", lines[0]);
    }

    [Fact]
    public void Open_Unwritable_ErrorInLinuxsWords()
    {
        Assert.Null(DebugLog.Open("/nonexistent/dir/file.log", verbose: false, "1", "do", out string? error));
        Assert.Equal("open /nonexistent/dir/file.log: no such file or directory", error);
    }

    [Fact]
    public void None_DropsEverything()
    {
        Assert.False(DebugLog.None.Enabled);
        DebugLog.None.WriteLine("dropped");
        Assert.Null(DebugLog.None.FilePath);
    }

    [Fact]
    public void Describe_MissingFile_AsLinuxSaysIt()
    {
        try
        {
            File.ReadAllText("/nonexistent/config.json");
        }
        catch (IOException e)
        {
            Assert.Equal("open /nonexistent/config.json: no such file or directory", LinuxError.Describe("open", "/nonexistent/config.json", e));
        }

        string dir = NewDirectory();
        try
        {
            File.ReadAllText(dir);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            Assert.Equal($"open {dir}: is a directory", LinuxError.Describe("open", dir, e));
        }
    }
}
