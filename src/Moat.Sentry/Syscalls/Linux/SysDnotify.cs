using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.Inotify;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>fcntl(2) F_NOTIFY: directory change signals (Linux's fcntl_dirnotify), over <see cref="Dnotify"/>.</summary>
internal static class SysDnotify
{
    public const int F_NOTIFY = 1026;

    /// <summary>
    /// Implements F_NOTIFY on <paramref name="f"/>, open as <paramref name="fd"/>: no event bits (DN_MULTISHOT
    /// alone too) removes this fd table's registration; otherwise the directory's events are added to it
    /// (ENOTDIR for anything else) and the caller's process becomes the owner unless one is set.
    /// </summary>
    public static long Fcntl(Task t, FileDescription f, int fd, ulong argument)
    {
        uint arg = (uint)argument; // fcntl_dirnotify takes an unsigned int
        if ((f.StatusFlags & OpenFlags.O_PATH) != 0)
        {
            return -Errno.EBADF.Value;
        }

        if ((arg & ~Dnotify.DN_MULTISHOT) == 0)
        {
            Dnotify.Flush(f, t.Fds);
            return 0;
        }

        long r = f.Stat(out Stat st);
        if (r < 0)
        {
            return r;
        }

        if ((st.st_mode & Stat.S_IFMT) != Stat.S_IFDIR)
        {
            return -Errno.ENOTDIR.Value;
        }

        Dnotify.Attach(InodeKey.Of(st), f, t.Fds, fd, arg);
        f.Async.SetOwnerIfNone(t);
        return 0;
    }
}
