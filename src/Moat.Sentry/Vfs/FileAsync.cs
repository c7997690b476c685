using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A file description's signal-driven I/O state (Linux's f_owner plus the fd of its fasync entry): who gets
/// the signal (F_SETOWN, F_SETOWN_EX), which signal (F_SETSIG) and the credentials of whoever set the owner,
/// checked against each target as sigio_perm does. <see cref="_mu"/> is a leaf; signals are sent after it.
/// </summary>
internal sealed class FileAsync
{
    public const int F_OWNER_TID = 0;
    public const int F_OWNER_PID = 1;
    public const int F_OWNER_PGRP = 2;

    /// <summary>si_code reasons (POLL_IN ... POLL_HUP) and SI_SIGIO.</summary>
    public const int POLL_IN = 1;
    public const int POLL_OUT = 2;
    public const int POLL_MSG = 3;
    public const int POLL_ERR = 4;
    public const int POLL_PRI = 5;
    public const int POLL_HUP = 6;
    private const int SI_SIGIO = -5;

    private readonly Lock _mu = new();

    // Protected by _mu.
    private Kernel.Kernel? _kernel;
    private int _ownerType = F_OWNER_TID; // a zeroed f_owner reads back as a thread owner
    private int _ownerId;
    private uint _uid;
    private uint _euid;
    private int _signum;
    private int _fd = -1;

    /// <summary>Implements F_SETOWN_EX (and F_SETOWN, as a process or a negated group): records the setter's ids.</summary>
    public void SetOwner(Task t, int type, int id)
    {
        lock (_mu)
        {
            _kernel = t.Kernel;
            _ownerType = type;
            _ownerId = id;
            _uid = t.Credentials.RealUid;
            _euid = t.Credentials.EffectiveUid;
        }
    }

    /// <summary>f_modown without force (dnotify's __f_setown): the caller's process becomes the owner unless one is set.</summary>
    public void SetOwnerIfNone(Task t)
    {
        lock (_mu)
        {
            if (_ownerId != 0)
            {
                return;
            }
        }

        SetOwner(t, F_OWNER_PID, t.Group.Tgid);
    }

    /// <summary>F_GETOWN_EX's answer.</summary>
    public (int Type, int Id) Owner
    {
        get
        {
            lock (_mu)
            {
                return (_ownerType, _ownerId);
            }
        }
    }

    /// <summary>F_SETSIG / F_GETSIG: 0 means plain SIGIO.</summary>
    public int Signal
    {
        get
        {
            lock (_mu)
            {
                return _signum;
            }
        }

        set
        {
            lock (_mu)
            {
                _signum = value;
            }
        }
    }

    /// <summary>The fd reported in si_fd: the one O_ASYNC was last turned on through (fasync_helper's fa_fd).</summary>
    public int Fd
    {
        set
        {
            lock (_mu)
            {
                _fd = value;
            }
        }
    }

    /// <summary>
    /// Linux's send_sigio: the owner's signal for <paramref name="reason"/> (POLL_IN, POLL_OUT, ...), to a
    /// thread, a process or every process of a group, each only if the owner's setter may signal it.
    /// </summary>
    public void Send(int reason)
    {
        int fd;
        lock (_mu)
        {
            fd = _fd;
        }

        Send(reason, fd);
    }

    /// <summary>As <see cref="Send(int)"/>, with <paramref name="fd"/> in si_fd (dnotify reports the fd F_NOTIFY was given).</summary>
    public void Send(int reason, int fd)
    {
        Kernel.Kernel? k;
        int type, id, signum;
        uint uid, euid;
        lock (_mu)
        {
            (k, type, id, signum, uid, euid) = (_kernel, _ownerType, _ownerId, _signum, _uid, _euid);
        }

        if (k == null || id == 0)
        {
            return;
        }

        SigInfo info;
        int sig = signum == 0 ? Moat.Abi.Signal.SIGIO : signum;
        if (signum == 0)
        {
            info = new SigInfo { si_signo = sig, si_code = SigInfo.SI_KERNEL };
        }
        else
        {
            info = new SigInfo { si_signo = sig, si_code = SpecificCodes(sig) ? SI_SIGIO : reason };
            Span<byte> raw = MemoryMarshal.AsBytes(new Span<SigInfo>(ref info));
            MemoryMarshal.Write(raw[16..], Band(reason)); // si_band
            MemoryMarshal.Write(raw[24..], fd);           // si_fd
        }

        if (type == F_OWNER_TID)
        {
            if (k.FindTask(id) is Task thread && Permitted(thread.Credentials, uid, euid))
            {
                thread.SendSignal(sig, info);
            }

            return;
        }

        var targets = new List<Task>();
        lock (k.TreeMu)
        {
            if (type == F_OWNER_PID)
            {
                if (k.FindGroupLocked(id) is ThreadGroup g && !g.Zombie && g.SignalTarget(sig) is Task task && Permitted(task.Credentials, uid, euid))
                {
                    targets.Add(task);
                }
            }
            else
            {
                foreach (ThreadGroup g in k.AllGroupsLocked())
                {
                    if (g.ProcessGroup == id && !g.Zombie && g.SignalTarget(sig) is Task task && Permitted(task.Credentials, uid, euid))
                    {
                        targets.Add(task);
                    }
                }
            }
        }

        foreach (Task task in targets)
        {
            task.SendSignal(sig, info);
        }
    }

    // sigio_perm: the setter is root, or one of its ids is the target's real or saved uid.
    private static bool Permitted(Credentials target, uint uid, uint euid) =>
        euid == 0 || euid == target.SavedUid || euid == target.RealUid || uid == target.SavedUid || uid == target.RealUid;

    // Signals whose si_code values have a meaning of their own get SI_SIGIO instead of POLL_* (sig_specific_sicodes).
    private static bool SpecificCodes(int sig) => sig is 4 or 5 or 7 or 8 or 11 or 17 or 31;

    // band_table: the poll bits each reason stands for.
    private static long Band(int reason) => reason switch
    {
        POLL_IN => PollEvents.POLLIN | PollEvents.POLLRDNORM,
        POLL_OUT => PollEvents.POLLOUT | PollEvents.POLLWRNORM | PollEvents.POLLWRBAND,
        POLL_MSG => PollEvents.POLLIN | PollEvents.POLLRDNORM | 0x400, // POLLMSG
        POLL_ERR => PollEvents.POLLERR,
        POLL_PRI => PollEvents.POLLPRI | PollEvents.POLLRDBAND,
        POLL_HUP => PollEvents.POLLHUP | PollEvents.POLLERR,
        _ => -1,
    };
}

/// <summary>
/// The descriptions with O_ASYNC on one source of events (Linux's fasync list: a pipe's readers or writers,
/// a socket's queue). <see cref="_mu"/> is a leaf.
/// </summary>
internal sealed class FasyncList
{
    private readonly Lock _mu = new();

    // Protected by _mu; _count is also read without it, so a source nobody registered on costs one read.
    private readonly List<FileDescription> _files = [];
    private volatile int _count;

    /// <summary>fasync_helper: adds or removes <paramref name="f"/>; a new fd replaces the old one in si_fd.</summary>
    public void Set(FileDescription f, int fd, bool on)
    {
        lock (_mu)
        {
            if (on)
            {
                f.Async.Fd = fd;
                if (!_files.Contains(f))
                {
                    _files.Add(f);
                }

                _count = _files.Count;
            }
            else
            {
                _files.Remove(f);
                _count = _files.Count;
            }
        }
    }

    /// <summary>kill_fasync: every registered description's owner gets its signal.</summary>
    public void Signal(int reason)
    {
        if (_count == 0)
        {
            return;
        }

        FileDescription[] files;
        lock (_mu)
        {
            if (_files.Count == 0)
            {
                return;
            }

            files = [.. _files];
        }

        foreach (FileDescription f in files)
        {
            f.Async.Send(reason);
        }
    }
}
