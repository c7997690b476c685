namespace Moat.Sentry.Vfs.Mounts;

/// <summary>
/// One mount of a <see cref="MountNamespace"/>: which file system (and which directory of it, for a bind
/// mount) is seen at <see cref="MountPoint"/>, with the mount's own flags. Immutable: a remount or a move
/// replaces the entry, so a reader holding a snapshot of the table never sees half a change.
/// </summary>
internal sealed record Mount
{
    /// <summary>The mount's id, as /proc/PID/mountinfo shows it.</summary>
    public required int Id { get; init; }

    /// <summary>The id of the mount the mount point lay on when it was mounted (its own id for the root).</summary>
    public required int ParentId { get; init; }

    /// <summary>Where the mount is seen: an absolute, lexically clean path of the namespace ("/" for the root).</summary>
    public required string MountPoint { get; init; }

    public required MountKind Kind { get; init; }

    /// <summary>The file system of a <see cref="MountKind.Tmpfs"/> mount.</summary>
    public Tmpfs.Tmpfs? Tmpfs { get; init; }

    /// <summary>The host directory of a <see cref="MountKind.Volume"/> mount.</summary>
    public Volume? Volume { get; init; }

    /// <summary>
    /// The directory of the file system shown at the mount point. For tmpfs and volumes a path relative to the
    /// file system's root ("" for the whole); for the overlay and /proc the absolute path they are addressed
    /// by ("/" for the whole overlay, "/proc" for the whole of /proc, "/sys" for the whole of sysfs).
    /// </summary>
    public required string Root { get; init; }

    public MountFlags Flags { get; init; }

    /// <summary>The st_dev the root overlay's files show (its upper layer's), for mountinfo to name the same device.</summary>
    public ulong? OverlayDevice { get; init; }

    /// <summary>The pid namespace a <see cref="MountKind.Proc"/> mount shows (the mounter's); null for the sandbox's root one.</summary>
    public Kernel.PidNamespace? PidNs { get; init; }

    /// <summary>mount(2)'s source as /proc/mounts shows it ("tmpfs", "proc", a host path, "none").</summary>
    public required string Source { get; init; }

    /// <summary>The file system type as /proc/mounts shows it ("tmpfs", "proc", "overlay").</summary>
    public required string FsType { get; init; }

    /// <summary>The file system's own options for /proc/mounts, after the read-only flag (e.g. "size=65536k,mode=755").</summary>
    public string SuperOptions { get; init; } = string.Empty;

    /// <summary>Whether changes through this mount answer EROFS: the mount is read-only, or its tmpfs is.</summary>
    public bool ReadOnly => (Flags & MountFlags.ReadOnly) != 0 || Tmpfs is { ReadOnly: true };

    /// <summary>Whether the file system itself is read-only (mountinfo's super options), whatever the mount's flag.</summary>
    public bool SuperReadOnly => Tmpfs?.ReadOnly ?? Volume?.ReadOnly ?? false;

    /// <summary>
    /// Whether the file system would resolve a symlink below this mount in its own terms rather than the mount
    /// tree's: a bind of a directory of the overlay (the gofer follows host links from the host's root) or of a
    /// volume seen elsewhere than the volume's own mount point (the gofer keeps links inside the volume, not
    /// inside the bind). Paths through such a mount are walked by the Sentry (<see cref="BindWalk"/>).
    /// </summary>
    public bool WalksLinks => Kind switch
    {
        MountKind.Overlay => MountPoint != Root,
        MountKind.Volume => Root.Length != 0 || MountPoint != Volume!.MountPoint,
        _ => false,
    };

    /// <summary>The st_dev of the mount's files as mountinfo shows it.</summary>
    public ulong Device => OverlayDevice ?? Kind switch
    {
        MountKind.Tmpfs => Tmpfs!.Device,
        MountKind.Volume => 0x200 + (ulong)Volume!.Root,
        MountKind.Proc => Proc.ProcFs.Device,
        MountKind.Sysfs => Sys.SysFs.Device,
        MountKind.Mqueue => MqueueFs.Device,
        MountKind.Cgroup => CgroupFs.Device,
        _ => 1,
    };
}
