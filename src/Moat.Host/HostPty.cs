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
