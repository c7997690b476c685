using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>A further container of a pod to make in a running sandbox: its process and its mounts.</summary>
public sealed class SandboxContainerSpec
{
    /// <summary>The container's id.</summary>
    public required string Id { get; init; }

    /// <summary>Its init.</summary>
    public required SandboxProcessSpec Process { get; init; }

    /// <summary>The host path of its rootfs, as mountinfo shows the root's source.</summary>
    public required string Rootfs { get; init; }

    /// <summary>Whether changes to the root answer EROFS (OCI root.readonly).</summary>
    public bool RootReadOnly { get; init; }

    /// <summary>Its tmpfs mounts.</summary>
    public IReadOnlyList<TmpfsMount> TmpfsMounts { get; init; } = [];

    /// <summary>Its binds: bind i is the container's gofer's root i + 2 (root 1 is the rootfs).</summary>
    public IReadOnlyList<BindMount> BindMounts { get; init; } = [];

    /// <summary>OCI linux.maskedPaths and linux.readonlyPaths of its mount namespace (<c>Vfs/Mounts/ProtectedPaths</c>).</summary>
    public IReadOnlyList<string> MaskedPaths { get; init; } = [];

    public IReadOnlyList<string> ReadonlyPaths { get; init; } = [];

    /// <summary>Whether it joins the pod's PID namespace (shareProcessNamespace) instead of getting one of its own.</summary>
    public bool SharesPodPidNamespace { get; init; }
}
