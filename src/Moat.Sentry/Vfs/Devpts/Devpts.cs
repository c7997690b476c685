using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>
/// The sandbox's devpts: /dev/ptmx (and /dev/pts/ptmx) make a new pty pair, whose replica appears as
/// /dev/pts/N (the lowest free N) until the master is closed; /dev/tty opens the caller's controlling
/// terminal. The pts directory lives in the Sentry's /dev tmpfs, so the path walk, stat and readdir are
/// tmpfs's; only opens of these device numbers come here.
/// </summary>
internal sealed class Devpts
{
    public const uint TtyMajor = 5; // /dev/tty 5:0, /dev/ptmx 5:2
    public const uint PtsMajor = 136;
    private const uint TtyGid = 5;

    private readonly Kernel.Kernel _kernel;
    private readonly Tmpfs.Tmpfs _dev;
    private readonly TmpfsDirectory _pts;
    private readonly TmpfsDeviceNode _ptmx;

    // Protected by _dev.Mu.
    private readonly SortedDictionary<int, Terminal> _terminals = [];

    // Bridges to host terminals (OCI consoles), drained before the Sentry exits. Protected by itself.
    private readonly List<TerminalBridge> _bridges = [];

    public Devpts(Kernel.Kernel kernel, Tmpfs.Tmpfs dev)
    {
        _kernel = kernel;
        _dev = dev;
        lock (dev.Mu)
        {
            _pts = new TmpfsDirectory(dev, dev.Root, 0x1ED /* 0755 */, 0, 0);
            dev.Root.Children["pts"] = _pts;
            dev.Root.Nlink++;
            _pts.Children["ptmx"] = new TmpfsDeviceNode(dev, 0, TtyMajor, 2); // ptmxmode=000, as Linux mounts it
            _ptmx = new TmpfsDeviceNode(dev, 0x1B6 /* 0666 */, TtyMajor, 2);
            dev.Root.Children["ptmx"] = _ptmx;
        }
    }

    /// <summary>A mount of the instance (the pts directory of the sandbox's /dev) at <paramref name="where"/>.</summary>
    public static Mounts.Mount NewMount(Tmpfs.Tmpfs dev, string where, Mounts.MountFlags flags, string source) => new()
    {
        Id = Mounts.MountNamespace.NextId(), ParentId = 0, MountPoint = where, Kind = Mounts.MountKind.Tmpfs, Tmpfs = dev, Root = "pts",
        Flags = flags, Source = source, FsType = "devpts", SuperOptions = SuperOptions,
    };

    /// <summary>The options mountinfo shows for the instance: what its replicas and ptmx get.</summary>
    public const string SuperOptions = "gid=5,mode=620,ptmxmode=000";

    /// <summary>
    /// Whether devpts mount options are ones Linux takes (uid=, gid=, mode=, ptmxmode=, max=, newinstance). They
    /// are checked, not applied: the sandbox's single instance keeps <see cref="SuperOptions"/>.
    /// </summary>
    public static bool ValidOptions(List<string> options)
    {
        foreach (string o in options)
        {
            int eq = o.IndexOf('=');
            string key = eq < 0 ? o : o[..eq];
            string value = eq < 0 ? string.Empty : o[(eq + 1)..];
            bool ok = key switch
            {
                "newinstance" => eq < 0,
                "uid" or "gid" or "max" => uint.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _),
                "mode" or "ptmxmode" => value.Length > 0 && uint.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _) &&
                    System.Linq.Enumerable.All(value, c => c is >= '0' and <= '7'),
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether opening <paramref name="node"/> is devpts's business.</summary>
    public static bool Serves(TmpfsDeviceNode node) =>
        node.Major == PtsMajor || (node.Major == TtyMajor && node.Minor is 0 or 2);

    /// <summary>Opens ptmx, a replica or /dev/tty. Called with the /dev tmpfs's lock held (the path walk's).</summary>
    public long Open(Task t, TmpfsDeviceNode node, int flags, string path, out FileDescription? file)
    {
        file = null;
        if (node.Major == TtyMajor && node.Minor == 2)
        {
            return OpenMaster(t, node, flags, path, out file);
        }

        Terminal? tty;
        if (node.Major == TtyMajor)
        {
            lock (_kernel.TreeMu)
            {
                tty = t.Group.ControllingTerminal;
            }

            if (tty == null)
            {
                return -Errno.ENXIO.Value;
            }
        }
        else if (!_terminals.TryGetValue((int)node.Minor, out tty) || tty.ReplicaNode != node)
        {
            return -Errno.EIO.Value; // the node of a pty that is gone
        }

        lock (tty.Mu)
        {
            if (tty.HungUp || tty.Locked)
            {
                return -Errno.EIO.Value;
            }

            tty.ReplicaOpens++;
        }

        tty.Changed();
        if ((flags & OpenFlags.O_NOCTTY) == 0 && node.Major == PtsMajor)
        {
            tty.MaybeBecomeControlling(t);
        }

        file = new TerminalFile(tty, master: false, node, flags) { Path = node.Major == PtsMajor ? path : "/dev/tty" };
        return 0;
    }

    /// <summary>
    /// Makes a pty whose master side is the host terminal <paramref name="host"/> (which it then owns) and
    /// returns its replica, open for reading and writing: the stdio of an OCI process with a terminal.
    /// </summary>
    public FileDescription OpenBridged(SafeFdHandle host, uint uid, out Terminal tty)
    {
        lock (_dev.Mu)
        {
            tty = NewTerminalLocked(uid);
            tty.Locked = false;
            tty.ReplicaOpens = 1;
        }

        TerminalBridge bridge = TerminalBridge.Start(tty, host);
        lock (_bridges)
        {
            _bridges.Add(bridge);
        }

        return new TerminalFile(tty, master: false, tty.ReplicaNode, OpenFlags.O_RDWR) { Path = "/dev/pts/" + tty.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }

    /// <summary>
    /// Once every task has exited: waits (at most <paramref name="timeoutMs"/> in all) until each bridge has
    /// copied the sandbox's last output to its host terminal.
    /// </summary>
    public void DrainBridges(int timeoutMs)
    {
        TerminalBridge[] bridges;
        lock (_bridges)
        {
            bridges = [.. _bridges];
        }

        long deadline = Environment.TickCount64 + timeoutMs;
        foreach (TerminalBridge b in bridges)
        {
            b.WaitDrained((int)Math.Max(0, deadline - Environment.TickCount64));
        }
    }

    private long OpenMaster(Task t, TmpfsDeviceNode node, int flags, string path, out FileDescription? file)
    {
        Terminal tty = NewTerminalLocked(t.Credentials.EffectiveUid);
        file = new TerminalFile(tty, master: true, node, flags) { Path = "/dev/ptmx" };
        return 0;
    }

    // A new pair at the lowest free index, its replica listed in /dev/pts. Preconditions: _dev.Mu is held.
    private Terminal NewTerminalLocked(uint uid)
    {
        int index = 0;
        foreach (int used in _terminals.Keys)
        {
            if (used != index)
            {
                break;
            }

            index++;
        }

        var replica = new TmpfsDeviceNode(_dev, 0x190 /* 0620 */, PtsMajor, (uint)index)
        {
            Uid = uid,
            Gid = TtyGid,
        };
        var tty = new Terminal(_kernel, this, index, replica);
        _terminals[index] = tty;
        _pts.Children[index.ToString(System.Globalization.CultureInfo.InvariantCulture)] = replica;
        _pts.Touch(modified: true);
        return tty;
    }

    /// <summary>Takes a closed master's replica out of /dev/pts.</summary>
    public void Remove(Terminal tty)
    {
        lock (_dev.Mu)
        {
            if (_terminals.TryGetValue(tty.Index, out Terminal? t) && t == tty)
            {
                _terminals.Remove(tty.Index);
                _pts.Children.Remove(tty.Index.ToString(System.Globalization.CultureInfo.InvariantCulture));
                _pts.Touch(modified: true);
            }
        }
    }
}
