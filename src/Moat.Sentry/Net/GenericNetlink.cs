using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Net;

/// <summary>
/// NETLINK_GENERIC as the sandbox's kernel serves it: the controller family (nlctrl: CTRL_CMD_GETFAMILY by
/// name or id, and its dump) and one family, TASKSTATS, whose TASKSTATS_CMD_GET answers for a task or a
/// process of the sandbox with what the Sentry knows of it (name, ids, parent, start time, CPU times, memory
/// high-water marks). Other families are ENOENT, as on a kernel without them. Every answer is its own datagram;
/// errors are NLMSG_ERROR with the whole request, as Linux acks without NETLINK_CAP_ACK.
/// </summary>
internal static class GenericNetlink
{
    private const int ClockRealtimeCoarse = 5;

    public const int NETLINK_GENERIC = 16;

    private const int HeaderSize = 16;
    private const int GenlHeaderSize = 4;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort NLMSG_MIN_TYPE = 0x10;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_MULTI = 0x2;
    private const ushort NLM_F_ACK = 0x4;
    private const ushort NLM_F_DUMP = 0x300;
    private const ushort NLM_F_CAPPED = 0x100;

    // The controller (include/uapi/linux/genetlink.h).
    private const ushort GENL_ID_CTRL = 0x10;
    private const byte CTRL_CMD_NEWFAMILY = 1;
    private const byte CTRL_CMD_GETFAMILY = 3;
    private const ushort CTRL_ATTR_FAMILY_ID = 1;
    private const ushort CTRL_ATTR_FAMILY_NAME = 2;
    private const ushort CTRL_ATTR_VERSION = 3;
    private const ushort CTRL_ATTR_HDRSIZE = 4;
    private const ushort CTRL_ATTR_MAXATTR = 5;
    private const ushort CTRL_ATTR_OPS = 6;
    private const ushort CTRL_ATTR_MCAST_GROUPS = 7;
    private const ushort CTRL_ATTR_OP_ID = 1;
    private const ushort CTRL_ATTR_OP_FLAGS = 2;
    private const ushort CTRL_ATTR_MCAST_GRP_NAME = 1;
    private const ushort CTRL_ATTR_MCAST_GRP_ID = 2;
    private const uint GENL_ADMIN_PERM = 0x1;
    private const uint GENL_CMD_CAP_DO = 0x2;
    private const uint GENL_CMD_CAP_DUMP = 0x4;
    private const uint GENL_CMD_CAP_HASPOL = 0x8;

    // Taskstats (include/uapi/linux/taskstats.h); its family id is dynamic on Linux, this is ours.
    private const ushort TaskstatsFamily = 0x17;
    private const byte TASKSTATS_CMD_GET = 1;
    private const byte TASKSTATS_CMD_NEW = 2;
    private const byte CGROUPSTATS_CMD_GET = 4;
    private const ushort TASKSTATS_TYPE_PID = 1;
    private const ushort TASKSTATS_TYPE_TGID = 2;
    private const ushort TASKSTATS_TYPE_STATS = 3;
    private const ushort TASKSTATS_TYPE_AGGR_PID = 4;
    private const ushort TASKSTATS_TYPE_AGGR_TGID = 5;
    private const ushort TASKSTATS_CMD_ATTR_PID = 1;
    private const ushort TASKSTATS_CMD_ATTR_TGID = 2;
    private const ushort TASKSTATS_CMD_ATTR_REGISTER_CPUMASK = 3;
    private const ushort TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK = 4;
    private const ushort CGROUPSTATS_CMD_ATTR_FD = 1;

    /// <summary>struct taskstats of TASKSTATS_VERSION 16 (Linux 6.x): 560 bytes; the fields past version 13's are delay counts, 0 without delay accounting.</summary>
    private const ushort TaskstatsVersion = 16;
    private const int TaskstatsSize = 560;

    /// <summary>
    /// Answers one request message from <paramref name="t"/> on a socket of port <paramref name="port"/>: the
    /// datagrams to queue, in order.
    /// </summary>
    public static void Answer(Task t, ReadOnlySpan<byte> msg, uint port, List<byte[]> datagrams)
    {
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(msg[6..]);
        uint seq = BinaryPrimitives.ReadUInt32LittleEndian(msg[8..]);
        if ((flags & NLM_F_REQUEST) == 0 || type < NLMSG_MIN_TYPE)
        {
            // netlink_rcv_skb skips these, acking only when asked.
            if ((flags & NLM_F_ACK) != 0)
            {
                datagrams.Add(Error(msg, seq, port, 0));
            }

            return;
        }

        int err = Dispatch(t, msg, type, flags, seq, port, datagrams);
        if (err != 0 || (flags & NLM_F_ACK) != 0)
        {
            datagrams.Add(Error(msg, seq, port, err));
        }
    }

    // genl_rcv_msg: the family by id, the header, the command, its permission, then the command itself.
    private static int Dispatch(Task t, ReadOnlySpan<byte> msg, ushort type, ushort flags, uint seq, uint port, List<byte[]> datagrams)
    {
        if (type is not (GENL_ID_CTRL or TaskstatsFamily))
        {
            return -Errno.ENOENT.Value;
        }

        if (msg.Length < HeaderSize + GenlHeaderSize)
        {
            return -Errno.EINVAL.Value;
        }

        byte cmd = msg[HeaderSize];
        ReadOnlySpan<byte> attrs = msg[(HeaderSize + GenlHeaderSize)..];
        bool dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
        if (type == GENL_ID_CTRL)
        {
            if (cmd != CTRL_CMD_GETFAMILY)
            {
                return -Errno.EOPNOTSUPP.Value;
            }

            if (dump)
            {
                var all = new List<byte>();
                foreach (ushort id in (ReadOnlySpan<ushort>)[GENL_ID_CTRL, TaskstatsFamily])
                {
                    AppendMessage(all, GENL_ID_CTRL, NLM_F_MULTI, seq, port, CTRL_CMD_NEWFAMILY, 2, FamilyInfo(id));
                }

                AppendMessage(all, NLMSG_DONE, NLM_F_MULTI, seq, port, new byte[4]);
                datagrams.Add([.. all]);
                return 0;
            }

            return GetFamily(attrs, seq, port, datagrams);
        }

        // TASKSTATS: TASKSTATS_CMD_GET needs CAP_NET_ADMIN (GENL_ADMIN_PERM); neither command dumps.
        if (cmd is not (TASKSTATS_CMD_GET or CGROUPSTATS_CMD_GET) || dump)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        if (cmd == TASKSTATS_CMD_GET && !t.Credentials.HasCapability(Credentials.CAP_NET_ADMIN))
        {
            return -Errno.EPERM.Value;
        }

        return cmd == TASKSTATS_CMD_GET ? TaskstatsGet(t, attrs, seq, port, datagrams) : CgroupstatsGet(t, attrs);
    }

    // ctrl_getfamily: by id, then by name; EINVAL with neither, ENOENT for an unknown family.
    private static int GetFamily(ReadOnlySpan<byte> attrs, uint seq, uint port, List<byte[]> datagrams)
    {
        int err = -Errno.EINVAL.Value;
        ushort found = 0;
        if (FindAttr(attrs, CTRL_ATTR_FAMILY_ID, out ReadOnlySpan<byte> idAttr) && idAttr.Length >= 2)
        {
            ushort id = BinaryPrimitives.ReadUInt16LittleEndian(idAttr);
            found = id is GENL_ID_CTRL or TaskstatsFamily ? id : (ushort)0;
            err = -Errno.ENOENT.Value;
        }

        if (FindAttr(attrs, CTRL_ATTR_FAMILY_NAME, out ReadOnlySpan<byte> nameAttr))
        {
            int nul = nameAttr.IndexOf((byte)0);
            string name = Encoding.ASCII.GetString(nul >= 0 ? nameAttr[..nul] : nameAttr);
            found = name switch
            {
                "nlctrl" => GENL_ID_CTRL,
                "TASKSTATS" => TaskstatsFamily,
                _ => 0,
            };
            err = -Errno.ENOENT.Value;
        }

        if (found == 0)
        {
            return err;
        }

        var reply = new List<byte>();
        AppendMessage(reply, GENL_ID_CTRL, 0, seq, port, CTRL_CMD_NEWFAMILY, 2, FamilyInfo(found));
        datagrams.Add([.. reply]);
        return 0;
    }

    // ctrl_fill_info's attributes for one family.
    private static byte[] FamilyInfo(ushort id)
    {
        var p = new List<byte>();
        bool ctrl = id == GENL_ID_CTRL;
        AttrString(p, CTRL_ATTR_FAMILY_NAME, ctrl ? "nlctrl" : "TASKSTATS");
        Attr(p, CTRL_ATTR_FAMILY_ID, BitConverter.GetBytes(id));
        Attr(p, CTRL_ATTR_VERSION, BitConverter.GetBytes(ctrl ? 2u : 1u));
        Attr(p, CTRL_ATTR_HDRSIZE, BitConverter.GetBytes(0u));
        Attr(p, CTRL_ATTR_MAXATTR, BitConverter.GetBytes(ctrl ? 10u : 0u));
        (uint Cmd, uint Flags)[] ops = ctrl
            ? [(CTRL_CMD_GETFAMILY, GENL_CMD_CAP_DO | GENL_CMD_CAP_DUMP | GENL_CMD_CAP_HASPOL)]
            : [(TASKSTATS_CMD_GET, GENL_ADMIN_PERM | GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL), (CGROUPSTATS_CMD_GET, GENL_CMD_CAP_DO | GENL_CMD_CAP_HASPOL)];
        var opsNest = new List<byte>();
        for (int i = 0; i < ops.Length; i++)
        {
            var op = new List<byte>();
            Attr(op, CTRL_ATTR_OP_ID, BitConverter.GetBytes(ops[i].Cmd));
            Attr(op, CTRL_ATTR_OP_FLAGS, BitConverter.GetBytes(ops[i].Flags));
            Attr(opsNest, (ushort)(i + 1), [.. op]);
        }

        Attr(p, CTRL_ATTR_OPS, [.. opsNest]);
        if (ctrl)
        {
            var grp = new List<byte>();
            AttrString(grp, CTRL_ATTR_MCAST_GRP_NAME, "notify");
            Attr(grp, CTRL_ATTR_MCAST_GRP_ID, BitConverter.GetBytes((uint)GENL_ID_CTRL));
            var groups = new List<byte>();
            Attr(groups, 1, [.. grp]);
            Attr(p, CTRL_ATTR_MCAST_GROUPS, [.. groups]);
        }

        return [.. p];
    }

    // taskstats_user_cmd: a thread by pid, or a process by tgid; ESRCH when there is none.
    private static int TaskstatsGet(Task t, ReadOnlySpan<byte> attrs, uint seq, uint port, List<byte[]> datagrams)
    {
        if (FindAttr(attrs, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, out _) || FindAttr(attrs, TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, out _))
        {
            // Listeners for exit records: the Sentry sends none, so it takes no registration.
            return -Errno.EOPNOTSUPP.Value;
        }

        bool byPid = FindAttr(attrs, TASKSTATS_CMD_ATTR_PID, out ReadOnlySpan<byte> v);
        if (!byPid && !FindAttr(attrs, TASKSTATS_CMD_ATTR_TGID, out v))
        {
            return -Errno.EINVAL.Value;
        }

        if (v.Length < 4)
        {
            return -Errno.EINVAL.Value;
        }

        uint id = BinaryPrimitives.ReadUInt32LittleEndian(v);
        Task? task = id > int.MaxValue ? null : t.Kernel.FindTask((int)id);
        if (task == null)
        {
            return -Errno.ESRCH.Value;
        }

        byte[] stats = byPid ? ThreadStats(t.Kernel, task) : ProcessStats(task);
        var nest = new List<byte>();
        Attr(nest, byPid ? TASKSTATS_TYPE_PID : TASKSTATS_TYPE_TGID, BitConverter.GetBytes(id));
        Attr(nest, TASKSTATS_TYPE_STATS, stats);
        var payload = new List<byte>();
        Attr(payload, byPid ? TASKSTATS_TYPE_AGGR_PID : TASKSTATS_TYPE_AGGR_TGID, [.. nest]);
        var reply = new List<byte>();
        AppendMessage(reply, TaskstatsFamily, 0, seq, port, TASKSTATS_CMD_NEW, 1, [.. payload]);
        datagrams.Add([.. reply]);
        return 0;
    }

    // cgroupstats_user_cmd: an fd is needed (a bad one gets no answer), and it must be a cgroup v1 directory;
    // the sandbox has only cgroup2.
    private static int CgroupstatsGet(Task t, ReadOnlySpan<byte> attrs)
    {
        if (!FindAttr(attrs, CGROUPSTATS_CMD_ATTR_FD, out ReadOnlySpan<byte> v) || v.Length < 4)
        {
            return -Errno.EINVAL.Value;
        }

        Vfs.FileDescription? f = t.Fds.Get(BinaryPrimitives.ReadInt32LittleEndian(v));
        if (f == null)
        {
            return 0; // Linux answers nothing at all for a bad fd (an ack if one was asked)
        }

        f.DecRef();
        return -Errno.EINVAL.Value;
    }

    // fill_stats_for_pid: bacct_add_tsk's and xacct_add_tsk's fields of one thread.
    private static byte[] ThreadStats(Kernel.Kernel k, Task task)
    {
        byte[] b = new byte[TaskstatsSize];
        Span<byte> s = b;
        BinaryPrimitives.WriteUInt16LittleEndian(s, TaskstatsVersion);
        Credentials c = task.Credentials;
        ThreadGroup g = task.Group;
        int ppid;
        lock (k.TreeMu)
        {
            ppid = g.Parent?.Tgid ?? 0;
        }

        SchedAttr sched = task.Sched;
        s[8] = (byte)(c.EffectiveUid == 0 ? 0x2 : 0); // ac_flag: ASU for root (the Sentry does not record capability use)
        s[9] = (byte)(sbyte)sched.Nice;
        (long user, long system) = CpuClocks.ThreadTimes(task);
        BinaryPrimitives.WriteUInt64LittleEndian(s[64..], (ulong)(user + system)); // cpu_run_real_total, ns
        byte[] comm = Encoding.UTF8.GetBytes(task.Comm);
        comm.AsSpan(0, Math.Min(comm.Length, 15)).CopyTo(s[80..]);
        s[112] = (byte)sched.Policy;
        BinaryPrimitives.WriteUInt32LittleEndian(s[120..], c.RealUid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[124..], c.RealGid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[128..], (uint)task.Tid);
        BinaryPrimitives.WriteUInt32LittleEndian(s[132..], (uint)ppid);
        DateTime started = task.StartedUtc;
        long elapsedUs = Math.Max(0, (DateTime.UtcNow - started).Ticks / 10);

        // bacct_add_tsk: the coarse realtime seconds (what time(2) reads) less the elapsed seconds, so a task that
        // started a moment ago never has a btime after the time(2) its reader takes next.
        Moat.Host.HostProcess.ClockGettime(ClockRealtimeCoarse, out Timespec coarse);
        long btime = Math.Max(0, coarse.tv_sec - (elapsedUs / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(s[136..], (uint)btime);
        BinaryPrimitives.WriteUInt64LittleEndian(s[144..], (ulong)elapsedUs); // ac_etime
        BinaryPrimitives.WriteUInt64LittleEndian(s[152..], (ulong)(user / 1000)); // ac_utime, us
        BinaryPrimitives.WriteUInt64LittleEndian(s[160..], (ulong)(system / 1000));
        ulong rssKb = task.MM.ResidentBytes() / 1024;
        ulong vmKb = task.MM.MappedBytes / 1024;
        BinaryPrimitives.WriteUInt64LittleEndian(s[200..], rssKb); // hiwater_rss and hiwater_vm: the current sizes (no peak is kept)
        BinaryPrimitives.WriteUInt64LittleEndian(s[208..], vmKb);
        BinaryPrimitives.WriteUInt64LittleEndian(s[288..], (ulong)(user / 1000)); // ac_utimescaled
        BinaryPrimitives.WriteUInt64LittleEndian(s[296..], (ulong)(system / 1000));
        BinaryPrimitives.WriteUInt64LittleEndian(s[304..], (ulong)(user + system)); // cpu_scaled_run_real_total
        BinaryPrimitives.WriteUInt64LittleEndian(s[344..], (ulong)btime); // ac_btime64
        BinaryPrimitives.WriteUInt32LittleEndian(s[368..], (uint)g.Tgid);
        BinaryPrimitives.WriteUInt64LittleEndian(s[376..], (ulong)elapsedUs); // ac_tgetime
        return b;
    }

    // fill_stats_for_tgid of a live process: the version and the sum of its threads' delay and switch counts.
    private static byte[] ProcessStats(Task task)
    {
        byte[] b = new byte[TaskstatsSize];
        BinaryPrimitives.WriteUInt16LittleEndian(b, TaskstatsVersion);
        long runtime = CpuClocks.ProcessRuntimeNs(task.Kernel, task.Group);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(64), (ulong)runtime); // cpu_run_real_total
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(304), (ulong)runtime);
        return b;
    }

    // The NLMSG_ERROR for a request: the errno and the whole request (only its header for an ack of success).
    private static byte[] Error(ReadOnlySpan<byte> msg, uint seq, uint port, int err)
    {
        ReadOnlySpan<byte> echoed = err == 0 ? msg[..HeaderSize] : msg;
        byte[] payload = new byte[4 + echoed.Length];
        BinaryPrimitives.WriteInt32LittleEndian(payload, err);
        echoed.CopyTo(payload.AsSpan(4));
        var m = new List<byte>();
        AppendMessage(m, NLMSG_ERROR, err == 0 ? NLM_F_CAPPED : (ushort)0, seq, port, payload);
        return [.. m];
    }

    // Finds the first attribute of a type among netlink attributes.
    private static bool FindAttr(ReadOnlySpan<byte> attrs, ushort type, out ReadOnlySpan<byte> value)
    {
        while (attrs.Length >= 4)
        {
            int len = BinaryPrimitives.ReadUInt16LittleEndian(attrs);
            ushort t = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(attrs[2..]) & 0x3FFF);
            if (len < 4 || len > attrs.Length)
            {
                break;
            }

            if (t == type)
            {
                value = attrs[4..len];
                return true;
            }

            int next = (len + 3) & ~3;
            attrs = next >= attrs.Length ? [] : attrs[next..];
        }

        value = default;
        return false;
    }

    private static void AppendMessage(List<byte> to, ushort type, ushort flags, uint seq, uint port, byte cmd, byte version, byte[] attrs)
    {
        byte[] payload = new byte[GenlHeaderSize + attrs.Length];
        payload[0] = cmd;
        payload[1] = version;
        attrs.CopyTo(payload, GenlHeaderSize);
        AppendMessage(to, type, flags, seq, port, payload);
    }

    private static void AppendMessage(List<byte> to, ushort type, ushort flags, uint seq, uint port, byte[] payload)
    {
        Span<byte> h = stackalloc byte[HeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)(HeaderSize + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], seq);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], port);
        to.AddRange(h);
        to.AddRange(payload);
        Pad(to);
    }

    private static void AttrString(List<byte> p, ushort type, string value)
    {
        byte[] s = new byte[value.Length + 1];
        Encoding.ASCII.GetBytes(value, s);
        Attr(p, type, s);
    }

    private static void Attr(List<byte> p, ushort type, ReadOnlySpan<byte> data)
    {
        Span<byte> h = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)(4 + data.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], type);
        p.AddRange(h);
        p.AddRange(data);
        Pad(p);
    }

    private static void Pad(List<byte> p)
    {
        while ((p.Count & 3) != 0)
        {
            p.Add(0);
        }
    }
}
