using System.Collections.Generic;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>
/// One pty pair: the line discipline between its master and replica, the lock, window size and open
/// counts (under <see cref="Mu"/>), and its part in job control: the session it controls and that
/// session's foreground process group (under Kernel.TreeMu). Lock order: Dev.Mu &gt; Kernel.TreeMu &gt; Mu.
/// Signals are sent with no lock held.
/// </summary>
internal sealed partial class Terminal
{
    public Terminal(Kernel.Kernel kernel, Devpts owner, int index, Tmpfs.TmpfsDeviceNode replicaNode)
    {
        Kernel = kernel;
        Owner = owner;
        Index = index;
        ReplicaNode = replicaNode;
    }

    public Kernel.Kernel Kernel { get; }

    public Devpts Owner { get; }

    /// <summary>N of /dev/pts/N.</summary>
    public int Index { get; }

    /// <summary>The /dev/pts/N node (fstat of the replica reports it, also after it is unlinked).</summary>
    public Tmpfs.TmpfsDeviceNode ReplicaNode { get; }

    public Lock Mu { get; } = new();

    /// <summary>Notified on any change of either side's data, room, or open state.</summary>
    public WaitQueue Events { get; } = new();

    /// <summary>Set with <see cref="Events"/> when a host terminal stands in for the master (<see cref="TerminalBridge"/>).</summary>
    public AutoResetEvent? BridgeWake { get; set; }

    /// <summary>Wakes whoever waits on either side.</summary>
    public void Changed()
    {
        Events.Notify();
        BridgeWake?.Set();
    }

    // Protected by Mu.
    public LineDiscipline Ld { get; } = new();

    public Winsize Size { get; set; }

    /// <summary>TIOCSPTLCK: a new pty is locked until unlockpt; the replica cannot be opened meanwhile (EIO).</summary>
    public bool Locked { get; set; } = true;

    public int ReplicaOpens { get; set; }

    /// <summary>Set once the master is closed: the replica is hung up (EOF on read, EIO on write and ioctl).</summary>
    public bool HungUp { get; set; }

    // Protected by Kernel.TreeMu.

    /// <summary>The session this is the controlling terminal of, or 0.</summary>
    public int Session { get; set; }

    /// <summary>The foreground process group, or 0.</summary>
    public int ForegroundGroup { get; set; }

    /// <summary>
    /// Linux's tty_check_change for a read (SIGTTIN) or write/settings change (SIGTTOU) by a process of a
    /// background group of the session this terminal controls: the group gets the signal and the call restarts
    /// after it (-ERESTARTSYS); an ignored or blocked signal lets the call through (EIO for SIGTTIN); an orphaned
    /// group gets EIO.
    /// </summary>
    public long CheckJobControl(Task t, int sig)
    {
        int pgrp;
        lock (Kernel.TreeMu)
        {
            ThreadGroup g = t.Group;
            if (g.ControllingTerminal != this || ForegroundGroup == 0 || g.ProcessGroup == ForegroundGroup)
            {
                return 0;
            }

            pgrp = g.ProcessGroup;
            bool ignored = (t.SignalMask & (1UL << (sig - 1))) != 0 || g.SignalActions[sig].Handler == SignalAction.SIG_IGN;
            if (ignored)
            {
                return sig == Signal.SIGTTIN ? -Errno.EIO.Value : 0;
            }

            if (Kernel.IsOrphanedProcessGroupLocked(pgrp, g.Session))
            {
                return -Errno.EIO.Value;
            }
        }

        SignalGroup(pgrp, sig);
        return -Errno.ERESTARTSYS.Value;
    }

    /// <summary>Sends <paramref name="sig"/> from the kernel to every live process of group <paramref name="pgrp"/>.</summary>
    public void SignalGroup(int pgrp, int sig)
    {
        if (pgrp == 0)
        {
            return;
        }

        List<Task> targets = [];
        lock (Kernel.TreeMu)
        {
            foreach (ThreadGroup g in Kernel.AllGroupsLocked())
            {
                if (g.ProcessGroup == pgrp && !g.Zombie && g.SignalTarget(sig) is Task target)
                {
                    targets.Add(target);
                }
            }
        }

        foreach (Task target in targets)
        {
            target.SendSignal(sig, new SigInfo { si_signo = sig, si_code = SigInfo.SI_KERNEL });
        }
    }

    /// <summary>Signals, as a bit mask, to the foreground group (the line discipline's ISIG characters).</summary>
    public void SignalForeground(ulong signals)
    {
        if (signals == 0)
        {
            return;
        }

        int fg;
        lock (Kernel.TreeMu)
        {
            fg = ForegroundGroup;
        }

        for (int sig = 1; sig <= 64; sig++)
        {
            if ((signals & (1UL << (sig - 1))) != 0)
            {
                SignalGroup(fg, sig);
            }
        }
    }

    /// <summary>
    /// An open of the replica without O_NOCTTY: a session leader with no controlling terminal takes this one
    /// if no session has it (tty_open_proc_set_tty).
    /// </summary>
    public void MaybeBecomeControlling(Task t)
    {
        lock (Kernel.TreeMu)
        {
            ThreadGroup g = t.Group;
            if (g.Session == g.Tgid && g.ControllingTerminal == null && Session == 0)
            {
                g.ControllingTerminal = this;
                Session = g.Session;
                ForegroundGroup = g.ProcessGroup;
            }
        }
    }

    /// <summary>
    /// The master's last close: the replica hangs up, its entry leaves /dev/pts, every process loses it as
    /// controlling terminal, and the session leader gets SIGHUP and SIGCONT (tty_vhangup).
    /// </summary>
    public void HangUp()
    {
        lock (Mu)
        {
            if (HungUp)
            {
                return;
            }

            HungUp = true;
        }

        Changed();
        Owner.Remove(this);
        Task? leader = null;
        lock (Kernel.TreeMu)
        {
            foreach (ThreadGroup g in Kernel.AllGroupsLocked())
            {
                if (g.ControllingTerminal == this)
                {
                    g.ControllingTerminal = null;
                }

                if (Session != 0 && g.Tgid == Session && g.Session == Session && !g.Zombie)
                {
                    leader = g.SignalTarget(Signal.SIGHUP);
                }
            }

            Session = 0;
            ForegroundGroup = 0;
        }

        if (leader != null)
        {
            leader.SendSignal(Signal.SIGHUP, new SigInfo { si_signo = Signal.SIGHUP, si_code = SigInfo.SI_KERNEL });
            leader.SendSignal(Signal.SIGCONT, new SigInfo { si_signo = Signal.SIGCONT, si_code = SigInfo.SI_KERNEL });
        }
    }

    /// <summary>
    /// A session leader's exit or TIOCNOTTY (disassociate_ctty): the foreground group gets SIGHUP (and SIGCONT
    /// unless the leader is exiting), and the session loses its terminal.
    /// </summary>
    public static void Disassociate(Kernel.Kernel kernel, ThreadGroup leader, bool exiting)
    {
        Terminal? tty;
        int fg;
        lock (kernel.TreeMu)
        {
            tty = leader.ControllingTerminal;
            if (tty == null || leader.Session != leader.Tgid)
            {
                return;
            }

            fg = tty.ForegroundGroup;
            tty.Session = 0;
            tty.ForegroundGroup = 0;
            foreach (ThreadGroup g in kernel.AllGroupsLocked())
            {
                if (g.Session == leader.Session && g.ControllingTerminal == tty)
                {
                    g.ControllingTerminal = null;
                }
            }
        }

        tty.SignalGroup(fg, Signal.SIGHUP);
        if (!exiting)
        {
            tty.SignalGroup(fg, Signal.SIGCONT);
        }
    }
}
