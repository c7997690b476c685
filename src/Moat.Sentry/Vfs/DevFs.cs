using Moat.Sentry.Pgalloc;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The sandbox's /dev: a tmpfs of the Sentry's own (mode 0755, as docker mounts one), holding only the
/// devices the Sentry serves itself, with Linux's modes and numbers, the mount point of /dev/shm and the
/// usual links into /proc. No host device is visible or reachable.
/// Devpts adds <c>pts</c> and <c>ptmx</c> (<see cref="Devpts.Devpts"/>).
/// </summary>
internal static class DevFs
{
    public const string MountPoint = "/dev";

    /// <summary>Makes a populated /dev.</summary>
    public static Tmpfs.Tmpfs Create(MemoryFile memoryFile)
    {
        var fs = new Tmpfs.Tmpfs(memoryFile, MountPoint, 0x1ED /* 0755 */);
        const uint ReadWriteAll = 0x1B6; // 0666
        AddDevice(fs, "null", ReadWriteAll, 1, 3);
        AddDevice(fs, "zero", ReadWriteAll, 1, 5);
        AddDevice(fs, "full", ReadWriteAll, 1, 7);
        AddDevice(fs, "random", ReadWriteAll, 1, 8);
        AddDevice(fs, "urandom", ReadWriteAll, 1, 9);
        AddDevice(fs, "tty", ReadWriteAll, 5, 0);
        lock (fs.Mu)
        {
            var shm = new TmpfsDirectory(fs, fs.Root, 0x3FF /* 01777 */, 0, 0);
            fs.Root.Children["shm"] = shm;
            fs.Root.Nlink++;
            AddLinkLocked(fs, "fd", "/proc/self/fd");
            AddLinkLocked(fs, "stdin", "/proc/self/fd/0");
            AddLinkLocked(fs, "stdout", "/proc/self/fd/1");
            AddLinkLocked(fs, "stderr", "/proc/self/fd/2");
        }

        return fs;
    }

    /// <summary>Adds a character device node to /dev; opening it reaches only what <see cref="DeviceFile.Open"/> serves.</summary>
    public static void AddDevice(Tmpfs.Tmpfs dev, string name, uint perm, uint major, uint minor)
    {
        lock (dev.Mu)
        {
            dev.Root.Children[name] = new TmpfsDeviceNode(dev, perm, major, minor);
        }
    }

    /// <summary>Whether the Sentry serves the character device <paramref name="major"/>:<paramref name="minor"/> (what mknod may make).</summary>
    public static bool Serves(uint major, uint minor) =>
        (major == 1 && minor is 3 or 5 or 7 or 8 or 9) || (major == 5 && minor == 0);

    private static void AddLinkLocked(Tmpfs.Tmpfs fs, string name, string target) =>
        fs.Root.Children[name] = new TmpfsSymlink(fs, target, 0, 0);
}
