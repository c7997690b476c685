using Moat.Abi;

namespace Moat.Host;

/// <summary>Joining an existing namespace (an OCI config's namespace path).</summary>
public static class HostNamespace
{
    /// <summary>CLONE_NEWNET: setns's nstype for a network namespace.</summary>
    public const int CLONE_NEWNET = 0x40000000;

    /// <summary>
    /// Opens the namespace file <paramref name="path"/> and moves the calling thread into it with setns(2),
    /// checking that it is of kind <paramref name="nstype"/>. Only this thread moves: what it spawns afterwards
    /// starts there. Returns 0 or -errno.
    /// </summary>
    public static long Join(string path, int nstype)
    {
        long fd = HostPath.Openat(OpenFlags.AT_FDCWD, path, OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
        if (fd < 0)
        {
            return fd;
        }

        using var handle = new SafeFdHandle((int)fd);
        return HostProcess.Syscall(Sysno.setns, handle.Fd, nstype);
    }
}
