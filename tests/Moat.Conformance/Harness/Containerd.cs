using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace Moat.Conformance.Harness;

/// <summary>
/// A private containerd (Debian's package) for the OCI tests: config, root, state, sockets and the opt
/// plugin's path all in a scratch directory, run in a mount namespace of its own where that directory's
/// run/ is bound over /run, so the shims' sockets and FIFOs stay off the host. ctr runs in the same
/// namespace (nsenter), and a busybox image built here is imported.
/// </summary>
public sealed class Containerd : IDisposable
{
    public const string Image = "docker.io/library/moatbox:latest";

    private readonly Process? _daemon;
    private readonly System.Text.StringBuilder _log = new();

    public Containerd()
        : this(null)
    {
    }

    /// <summary>A containerd with its CRI plugin on and <paramref name="criConfig"/> (TOML) appended to its config.</summary>
    internal Containerd(string? criConfig)
    {
        Problem = Check();
        if (Problem != null)
        {
            return;
        }

        Dir = HostScratch.NewDirectory("ctd");
        foreach (string d in new[] { "run", "root", "state", "opt" })
        {
            Directory.CreateDirectory(Path.Combine(Dir, d));
        }

        Socket = Path.Combine(Dir, "c.sock");
        string config = Path.Combine(Dir, "config.toml");
        File.WriteAllText(config, $"""
            version = 2
            root = "{Dir}/root"
            state = "{Dir}/state"
            disabled_plugins = [{(criConfig == null ? "\"io.containerd.grpc.v1.cri\", " : string.Empty)}"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
            [grpc]
              address = "{Socket}"
            [ttrpc]
              address = "{Socket}.ttrpc"
            [plugins."io.containerd.internal.v1.opt"]
              path = "{Dir}/opt"
            {criConfig}
            """);

        // unshare and sh exec into containerd: the started process's pid is the daemon's.
        var psi = new ProcessStartInfo("unshare")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-m", "--propagation", "private", "sh", "-c", $"mount --bind '{Dir}/run' /run && exec containerd --config '{config}'" })
        {
            psi.ArgumentList.Add(a);
        }

        _daemon = Process.Start(psi)!;
        _daemon.OutputDataReceived += (_, _) => { };
        _daemon.ErrorDataReceived += (_, e) =>
        {
            lock (_log)
            {
                _log.AppendLine(e.Data);
            }
        };
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        for (int i = 0; i < 200 && !File.Exists(Socket); i++)
        {
            Thread.Sleep(50);
        }

        if (!File.Exists(Socket))
        {
            Problem = "containerd did not start";
            return;
        }

        string image = Path.Combine(Dir, "image.tar");
        OciImage.Write(image, Image);
        RunResult r = Ctr("images", "import", image);
        if (r.ExitCode != 0)
        {
            Problem = "ctr images import failed: " + r.Stderr;
        }
    }

    /// <summary>Why the fixture cannot run (not root, a missing tool, containerd failed), or null.</summary>
    public string? Problem { get; }

    public string Dir { get; } = string.Empty;

    /// <summary>What containerd logged so far (its stderr).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public string Socket { get; } = string.Empty;

    /// <summary>Runs <c>ctr ARGS</c> against this containerd, inside its mount namespace.</summary>
    public RunResult Ctr(params string[] args) => ProcessRunner.Run("nsenter", CtrArgs(args), Dir, null, 60_000);

    /// <summary>The arguments of nsenter that run <c>ctr ARGS</c> against this containerd.</summary>
    public List<string> CtrArgs(params string[] args)
    {
        var all = new List<string> { "-t", _daemon!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "ctr", "--address", Socket };
        all.AddRange(args);
        return all;
    }

    /// <summary>
    /// Runs <c>ctr ARGS</c> with a terminal of 30 rows and 100 columns on its stdio (as `ctr run -t` needs),
    /// types <paramref name="input"/> once <paramref name="waitFor"/> has appeared, and returns all it wrote.
    /// </summary>
    public RunResult CtrOnTerminal(string input, string waitFor, params string[] args) =>
        PtyRunner.Run(input, waitFor, Dir, ["nsenter", .. CtrArgs(args)]);

    public void Dispose()
    {
        if (_daemon == null)
        {
            return;
        }

        try
        {
            _daemon.Kill();
            _daemon.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _daemon.Dispose();
    }

    private static string? Check()
    {
        if (Environment.UserName != "root")
        {
            return "the OCI tests run containerd and need root";
        }

        foreach (string tool in new[] { "containerd", "ctr", "runc", "unshare", "nsenter", "containerd-shim-runc-v2" })
        {
            if (Which(tool) == null)
            {
                return $"{tool} is not installed (apt-get install containerd runc)";
            }
        }

        return File.Exists("/bin/busybox") ? null : "/bin/busybox is missing (apt-get install busybox-static)";
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? Which(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            string p = Path.Combine(dir, tool);
            if (File.Exists(p))
            {
                return p;
            }
        }

        return null;
    }
}
