using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>
/// The terminal ioctls. Through the master they act on the replica's settings, as Linux's tty_ioctl does
/// for a pty master; the master alone answers the devpts requests (TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK).
/// </summary>
internal sealed partial class Terminal
{
    private const uint TCGETS = 0x5401;
    private const uint TCSETS = 0x5402;
    private const uint TCSETSW = 0x5403;
    private const uint TCSETSF = 0x5404;
    private const uint TCSBRK = 0x5409;
    private const uint TCXONC = 0x540A;
    private const uint TCFLSH = 0x540B;
    private const uint TIOCEXCL = 0x540C;
    private const uint TIOCNXCL = 0x540D;
    private const uint TIOCSCTTY = 0x540E;
    private const uint TIOCGPGRP = 0x540F;
    private const uint TIOCSPGRP = 0x5410;
    private const uint TIOCOUTQ = 0x5411;
    private const uint TIOCGWINSZ = 0x5413;
    private const uint TIOCSWINSZ = 0x5414;
    private const uint FIONREAD = 0x541B;
    private const uint TIOCNOTTY = 0x5422;
    private const uint TIOCGETD = 0x5424;
    private const uint TCSBRKP = 0x5425;
    private const uint TIOCGSID = 0x5429;
    private const uint TIOCGPTN = 0x80045430;
    private const uint TIOCSPTLCK = 0x40045431;
    private const uint TIOCGPTLCK = 0x80045439;
    private const uint TIOCGPTPEER = 0x5441;
    private const int CAP_SYS_ADMIN = 21;

    public long Ioctl(Task t, uint request, ulong arg, bool master)
    {
        if (!master)
        {
            lock (Mu)
            {
                if (HungUp)
                {
                    return request == TIOCSPGRP ? -Errno.ENOTTY.Value : -Errno.EIO.Value;
                }
            }
        }

        switch (request)
        {
            case TIOCGPTN when master:
                return Out(t, arg, (uint)Index);
            case TIOCSPTLCK when master:
            {
                if (t.MM.CopyIn(arg, out int on) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                lock (Mu)
                {
                    Locked = on != 0;
                }

                return 0;
            }

            case TIOCGPTLCK when master:
            {
                int locked;
                lock (Mu)
                {
                    locked = Locked ? 1 : 0;
                }

                return Out(t, arg, locked);
            }

            case TIOCGPTPEER:
                return master ? OpenPeer(t, (int)arg) : -Errno.EIO.Value; // ptm_open_peer: only a master has a peer
            case TCGETS:
            {
                KernelTermios tio;
                lock (Mu)
                {
                    tio = Ld.Termios;
                }

                return Out(t, arg, tio);
            }

            case TCSETS:
            case TCSETSW:
            case TCSETSF:
            {
                long jc = CheckJobControl(t, Signal.SIGTTOU);
                if (jc < 0)
                {
                    return jc;
                }

                if (t.MM.CopyIn(arg, out KernelTermios tio) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                lock (Mu)
                {
                    if (request == TCSETSF)
                    {
                        Ld.Flush(input: true, output: false);
                    }

                    Ld.SetTermios(tio);
                }

                Changed();
                return 0;
            }

            case TCFLSH:
            {
                long jc = CheckJobControl(t, Signal.SIGTTOU);
                if (jc < 0)
                {
                    return jc;
                }

                if (arg > 2)
                {
                    return -Errno.EINVAL.Value;
                }

                // TCIFLUSH drops what this side would read, TCOFLUSH what it wrote and the other has not read.
                bool ownInput = arg != 1, ownOutput = arg != 0;
                lock (Mu)
                {
                    Ld.Flush(input: master ? ownOutput : ownInput, output: master ? ownInput : ownOutput);
                }

                Changed();
                return 0;
            }

            case TCSBRK:
            case TCSBRKP:
            case TIOCEXCL:
            case TIOCNXCL:
                return 0;
            case TCXONC:
                return arg <= 3 ? 0 : -Errno.EINVAL.Value;
            case TIOCGWINSZ:
            {
                Winsize w;
                lock (Mu)
                {
                    w = Size;
                }

                return Out(t, arg, w);
            }

            case TIOCSWINSZ:
            {
                if (t.MM.CopyIn(arg, out Winsize w) < 0)
                {
                    return -Errno.EFAULT.Value;
                }

                bool changed;
                lock (Mu)
                {
                    changed = !Size.Equals(w);
                    Size = w;
                }

                if (changed)
                {
                    SignalForeground(1UL << (Signal.SIGWINCH - 1));
                }

                return 0;
            }

            case FIONREAD:
            {
                int n;
                lock (Mu)
                {
                    n = master ? Ld.Output.Count : Ld.ReadableCount;
                }

                return Out(t, arg, n);
            }

            case TIOCOUTQ:
                return Out(t, arg, 0); // Linux's ptys keep no driver output queue to count
            case TIOCGETD:
                return Out(t, arg, 0); // N_TTY
            case TIOCSCTTY:
                return SetControlling(t, arg);
            case TIOCNOTTY:
                return master ? -Errno.ENOTTY.Value : DropControlling(t);
            case TIOCGPGRP:
            case TIOCGSID:
            {
                int v;
                lock (Kernel.TreeMu)
                {
                    if (!master && t.Group.ControllingTerminal != this)
                    {
                        return -Errno.ENOTTY.Value;
                    }

                    if (request == TIOCGSID && Session == 0)
                    {
                        return -Errno.ENOTTY.Value;
                    }

                    // As the caller's pid namespace names them (0 when outside it).
                    v = Kernel.IdInLocked(t.PidNs, request == TIOCGSID ? Session : ForegroundGroup);
                }

                return Out(t, arg, v);
            }

            case TIOCSPGRP:
                return SetForeground(t, arg);
            default:
                return -Errno.ENOTTY.Value;
        }
    }

    // TIOCGPTPEER: opens the replica as an open of /dev/pts/N would (the lock, the controlling terminal),
    // without a path lookup, at the lowest free fd.
    private long OpenPeer(Task t, int flags)
    {
        lock (Mu)
        {
            if (Locked || HungUp)
            {
                return -Errno.EIO.Value;
            }

            ReplicaOpens++;
        }

        Changed();
        if ((flags & OpenFlags.O_NOCTTY) == 0)
        {
            MaybeBecomeControlling(t);
        }

        var file = new TerminalFile(this, master: false, ReplicaNode, flags)
        {
            Path = "/dev/pts/" + Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        int limit = (int)System.Math.Min(t.Group.Limit(RlimitResource.RLIMIT_NOFILE).rlim_cur, int.MaxValue);
        int fd = t.Fds.Add(file, (flags & OpenFlags.O_CLOEXEC) != 0, 0, limit);
        file.DecRef();
        return fd;
    }

    private static long Out<T>(Task t, ulong arg, in T value)
        where T : unmanaged => t.MM.CopyOut(arg, value) < 0 ? -Errno.EFAULT.Value : 0;

    // TIOCSCTTY (tiocsctty): a session leader without a terminal takes this one; stealing it from another
    // session needs arg 1 and CAP_SYS_ADMIN.
    private long SetControlling(Task t, ulong arg)
    {
        lock (Kernel.TreeMu)
        {
            ThreadGroup g = t.Group;
            bool leader = g.Session == g.Tgid;
            if (leader && Session == g.Session)
            {
                return 0;
            }

            if (!leader || g.ControllingTerminal != null)
            {
                return -Errno.EPERM.Value;
            }

            if (Session != 0)
            {
                if (arg != 1 || !t.Credentials.HasCapability(CAP_SYS_ADMIN))
                {
                    return -Errno.EPERM.Value;
                }

                foreach (ThreadGroup o in Kernel.AllGroupsLocked())
                {
                    if (o.ControllingTerminal == this)
                    {
                        o.ControllingTerminal = null;
                    }
                }
            }

            g.ControllingTerminal = this;
            Session = g.Session;
            ForegroundGroup = g.ProcessGroup;
            return 0;
        }
    }

    // TIOCNOTTY: the caller lets go of its terminal; a session leader takes the whole session with it.
    private long DropControlling(Task t)
    {
        bool leader;
        lock (Kernel.TreeMu)
        {
            ThreadGroup g = t.Group;
            if (g.ControllingTerminal != this)
            {
                return -Errno.ENOTTY.Value;
            }

            leader = g.Session == g.Tgid;
            if (!leader)
            {
                g.ControllingTerminal = null;
                return 0;
            }
        }

        Disassociate(Kernel, t.Group, exiting: false);
        return 0;
    }

    // TIOCSPGRP (tiocspgrp): the foreground group becomes another group of the terminal's session.
    private long SetForeground(Task t, ulong arg)
    {
        long jc = CheckJobControl(t, Signal.SIGTTOU);
        if (jc < 0)
        {
            return jc;
        }

        if (t.MM.CopyIn(arg, out int pgrp) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        lock (Kernel.TreeMu)
        {
            ThreadGroup g = t.Group;
            if (g.ControllingTerminal != this || Session != g.Session)
            {
                return -Errno.ENOTTY.Value;
            }

            if (pgrp < 0)
            {
                return -Errno.EINVAL.Value;
            }

            pgrp = t.PidNs.GlobalOfLocked(pgrp); // named in the caller's pid namespace
            bool exists = false, sameSession = false;
            foreach (ThreadGroup o in Kernel.AllGroupsLocked())
            {
                if (o.ProcessGroup == pgrp)
                {
                    exists = true;
                    sameSession |= o.Session == Session;
                }
            }

            if (!exists)
            {
                return -Errno.ESRCH.Value;
            }

            if (!sameSession)
            {
                return -Errno.EPERM.Value;
            }

            ForegroundGroup = pgrp;
            return 0;
        }
    }
}
