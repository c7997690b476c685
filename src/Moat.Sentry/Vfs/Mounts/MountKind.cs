namespace Moat.Sentry.Vfs.Mounts;

/// <summary>Which of the Sentry's file systems a mount shows.</summary>
internal enum MountKind
{
    /// <summary>The root overlay: the host root (or --root) read through the gofer under an in-sandbox upper layer.</summary>
    Overlay,

    /// <summary>A Sentry tmpfs (/tmp, /dev/shm, /dev and every tmpfs the program mounts).</summary>
    Tmpfs,

    /// <summary>A host directory or file served by the gofer (--volume, an OCI bind).</summary>
    Volume,

    /// <summary>The Sentry's /proc.</summary>
    Proc,

    /// <summary>The Sentry's sysfs (/sys).</summary>
    Sysfs,

    /// <summary>The IPC namespace's POSIX message queues (<see cref="MqueueFs"/>), addressed as "/mqueue/...".</summary>
    Mqueue,

    /// <summary>The sandbox as one cgroup v2 (<see cref="CgroupFs"/>), addressed as "/cgroup/...".</summary>
    Cgroup,
}
