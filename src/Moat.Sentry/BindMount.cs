using System;
using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>
/// A host directory or single file bound at a path of the sandbox (a volume): read-only or read-write, like
/// a Linux bind mount. The gofer serves <see cref="HostPath"/> as a root of its own and refuses every way out of it.
/// Used by <c>moat do --volume</c> and by the OCI runtime for config.json's bind mounts.
/// </summary>
/// <param name="HostPath">An absolute host path of a directory or a regular file.</param>
/// <param name="SandboxPath">An absolute, clean sandbox path; not "/", not under /proc or /dev.</param>
/// <param name="ReadOnly">Whether every change answers EROFS.</param>
/// <param name="IsFile">Whether a single file is bound (its mount point is a file, as /etc/hosts in a pod).</param>
public sealed record BindMount(string HostPath, string SandboxPath, bool ReadOnly, bool IsFile = false)
{
    /// <summary>Further per-mount options of the bind, as mount(8) spells them ("nosuid", "nodev", "noexec", ...).</summary>
    public IReadOnlyList<string> Options { get; init; } = [];

    /// <summary>
    /// Parses docker's <c>HOST:SANDBOX[:ro|rw]</c> (read-write unless told, as docker's <c>-v</c>), making
    /// HOST absolute against the current directory. Returns null with a message for a bad spec.
    /// </summary>
    public static BindMount? Parse(string spec, out string? error)
    {
        string[] parts = spec.Split(':');
        bool readOnly = false;
        if (parts.Length == 3 && parts[2] is "ro" or "rw")
        {
            readOnly = parts[2] == "ro";
        }
        else if (parts.Length != 2)
        {
            error = $"'{spec}': want HOST:SANDBOX[:ro|rw]";
            return null;
        }

        if (parts[0].Length == 0)
        {
            error = $"'{spec}': the host path is empty";
            return null;
        }

        return Create(System.IO.Path.GetFullPath(parts[0]), parts[1], readOnly, out error);
    }

    /// <summary>Checks and makes a bind mount. Returns null with a message when it cannot be served.</summary>
    public static BindMount? Create(string hostPath, string sandboxPath, bool readOnly, out string? error)
    {
        error = null;
        bool isFile = hostPath.StartsWith('/') && System.IO.File.Exists(hostPath);
        if (!hostPath.StartsWith('/') || !(isFile || System.IO.Directory.Exists(hostPath)))
        {
            error = $"{hostPath}: no such directory or file to bind";
            return null;
        }

        if (!sandboxPath.StartsWith('/'))
        {
            error = $"{sandboxPath}: the sandbox path must be absolute";
            return null;
        }

        string clean = Vfs.PathResolver.Normalize(sandboxPath);
        // A file may be bound into /dev (a pod's /dev/termination-log); /dev itself and its directories are the Sentry's.
        if (clean == "/" || IsUnder(clean, "/proc") || (IsUnder(clean, "/dev") && !(isFile && clean.LastIndexOf('/') == 4)))
        {
            error = $"{sandboxPath}: cannot bind over /, /proc or /dev";
            return null;
        }

        return new BindMount(hostPath, clean, readOnly, isFile);
    }

    private static bool IsUnder(string path, string dir) =>
        path == dir || path.StartsWith(dir + "/", StringComparison.Ordinal);
}
