using Moat.Abi;
using Moat.Host;

namespace Moat.Sentry.Vfs.Mounts;

/// <summary>Reads a host directory's listing through an fd the gofer opened.</summary>
internal static unsafe class HostDirectory
{
    /// <summary>Whether the directory holds any entry besides "." and ".." (false on an error).</summary>
    public static bool HasEntries(SafeFdHandle dir)
    {
        byte* buf = stackalloc byte[4096];
        while (true)
        {
            long n = HostProcess.Syscall(Sysno.getdents64, dir.Fd, (long)buf, 4096);
            if (n <= 0)
            {
                return false;
            }

            // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
            for (long off = 0; off < n;)
            {
                ushort reclen = *(ushort*)(buf + off + 16);
                byte* name = buf + off + 19;
                bool dot = name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0));
                if (!dot)
                {
                    return true;
                }

                off += reclen;
            }
        }
    }
}
