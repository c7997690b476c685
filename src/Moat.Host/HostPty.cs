namespace Moat.Host;

/// <summary>A host pseudo-terminal pair, opened without a path lookup of its replica (TIOCGPTPEER).</summary>
public static unsafe class HostPty
{
    private const int AtFdCwd = -100;
    private const int ORdwr = 0x2;
    private const int ONoctty = 0x100;
    private const int OCloexec = 0x80000;
    private const uint TCGETS = 0x5401;
    private const uint TCSETS = 0x5402;
    private const uint TIOCGPTN = 0x80045430;
    private const uint TIOCSPTLCK = 0x40045431;
    private const uint TIOCGPTPEER = 0x5441;
    private const uint TIOCGWINSZ = 0x5413;
    private const uint TIOCSWINSZ = 0x5414;
    private const int TermiosSize = 60; // struct termios2-sized buffer; TCGETS fills the first 36 bytes

    /// <summary>
    /// Opens /dev/ptmx, unlocks it and opens its replica (both close-on-exec, neither a controlling terminal),
    /// with the replica in raw mode (cfmakeraw). Returns 0 with the pair and N of /dev/pts/N, or -errno.
    /// </summary>
    public static long OpenRaw(out SafeFdHandle? master, out SafeFdHandle? replica, out int index)
    {
        master = replica = null;
        index = -1;
        long m = HostPath.Openat(AtFdCwd, "/dev/ptmx", ORdwr | ONoctty | OCloexec);
        if (m < 0)
        {
            return m;
        }

        var mh = new SafeFdHandle((int)m);
        int unlock = 0;
        uint n = 0;
        long r = HostFile.Ioctl(mh.Fd, TIOCSPTLCK, &unlock);
        if (r >= 0)
        {
            r = HostFile.Ioctl(mh.Fd, TIOCGPTN, &n);
        }

        if (r >= 0)
        {
            r = HostFile.Ioctl(mh.Fd, TIOCGPTPEER, (void*)(ORdwr | ONoctty | OCloexec));
        }

        if (r < 0)
        {
            mh.Dispose();
            return r;
        }

        var rh = new SafeFdHandle((int)r);
        r = MakeRaw(rh.Fd);
        if (r < 0)
        {
            mh.Dispose();
            rh.Dispose();
            return r;
        }

        (master, replica, index) = (mh, rh, (int)n);
        return 0;
    }

    /// <summary>Whether <paramref name="fd"/> is a terminal (TCGETS answers).</summary>
    public static bool IsTerminal(int fd)
    {
        byte* t = stackalloc byte[64];
        return HostFile.Ioctl(fd, TCGETS, t) >= 0;
    }

    /// <summary>Puts the terminal <paramref name="fd"/> in raw mode; returns its settings before, or null with -errno.</summary>
    public static byte[]? SetRaw(int fd, out long error)
    {
        byte[] saved = new byte[TermiosSize];
        fixed (byte* p = saved)
        {
            error = HostFile.Ioctl(fd, TCGETS, p);
        }

        if (error < 0)
        {
            return null;
        }

        error = MakeRaw(fd);
        return error < 0 ? null : saved;
    }

    /// <summary>Puts back settings <see cref="SetRaw"/> returned.</summary>
    public static long Restore(int fd, byte[] saved)
    {
        fixed (byte* p = saved)
        {
            return HostFile.Ioctl(fd, TCSETS, p);
        }
    }

    /// <summary>Gives the terminal <paramref name="to"/> the window size of <paramref name="from"/>.</summary>
    public static long CopyWindowSize(int from, int to)
    {
        ulong size = 0; // struct winsize: four ushorts
        long r = HostFile.Ioctl(from, TIOCGWINSZ, &size);
        return r < 0 ? r : HostFile.Ioctl(to, TIOCSWINSZ, &size);
    }

    /// <summary>Copies bytes from <paramref name="from"/> to <paramref name="to"/> until either side ends or fails.</summary>
    public static void Copy(int from, int to)
    {
        byte* buf = stackalloc byte[4096];
        while (true)
        {
            long n = HostFile.Read(from, buf, 4096);
            if (n == -4)
            {
                continue; // EINTR
            }

            if (n <= 0)
            {
                return;
            }

            for (long done = 0; done < n;)
            {
                long w = HostFile.Write(to, buf + done, (ulong)(n - done));
                if (w == -4)
                {
                    continue;
                }

                if (w <= 0)
                {
                    return;
                }

                done += w;
            }
        }
    }

    // cfmakeraw: no input maps, no output processing, no echo, canonical mode or signals; 8-bit; VMIN 1.
    private static long MakeRaw(int fd)
    {
        byte* t = stackalloc byte[64];
        long r = HostFile.Ioctl(fd, TCGETS, t);
        if (r < 0)
        {
            return r;
        }

        uint* flags = (uint*)t;
        flags[0] &= ~0x5EBu; // IGNBRK BRKINT PARMRK ISTRIP INLCR IGNCR ICRNL IXON
        flags[1] &= ~0x1u; // OPOST
        flags[2] = (flags[2] & ~0x130u) | 0x30u; // CSIZE and PARENB off, CS8
        flags[3] &= ~0x804Bu; // ECHO ECHONL ICANON ISIG IEXTEN
        t[17 + 6] = 1; // c_cc[VMIN]
        t[17 + 5] = 0; // c_cc[VTIME]
        return HostFile.Ioctl(fd, TCSETS, t);
    }
}
