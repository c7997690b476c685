using System.Collections.Generic;
using Moat.Sentry.Vfs.Mounts;

namespace Moat.Sentry;

/// <summary>
/// A tmpfs of the sandbox's own at <see cref="SandboxPath"/>, with mount(8)'s options: per-mount flags (ro,
/// nosuid, nodev, noexec, ...) and tmpfs's size=, nr_blocks=, mode=, uid=, gid=. An OCI config.json's tmpfs mounts.
/// </summary>
public sealed record TmpfsMount
{
    private TmpfsMount(string sandboxPath, IReadOnlyList<string> options)
    {
        SandboxPath = sandboxPath;
        Options = options;
    }

    /// <summary>An absolute, clean sandbox path.</summary>
    public string SandboxPath { get; }

    public IReadOnlyList<string> Options { get; }

    /// <summary>Checks the options as Linux's tmpfs would. Returns null with a message for a bad one.</summary>
    public static TmpfsMount? Create(string sandboxPath, IReadOnlyList<string> options, out string? error)
    {
        error = null;
        (_, List<string> data) = MountOptions.Parse(options);
        if (!MountOptions.TryParseTmpfs(data, 1L << 30, out _, out _, out _, out _))
        {
            error = $"tmpfs on {sandboxPath}: bad option in \"{string.Join(',', data)}\"";
            return null;
        }

        return new TmpfsMount(Vfs.PathResolver.Normalize(sandboxPath), options);
    }
}
