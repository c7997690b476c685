using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// The data calls of sockets: send/recv in all their forms, with control messages (SCM_RIGHTS passes open
/// file descriptions between processes, SCM_CREDENTIALS passes pid/uid/gid) and the batch calls.
/// </summary>
internal static partial class SysSocket
{
    private const int SCM_RIGHTS = 1;
    private const int SCM_CREDENTIALS = 2;
    private const int ScmMaxFd = 253;
    private const int CmsgHeader = ControlMessageReader.HeaderSize;
    private const int MSG_CMSG_CLOEXEC = 0x40000000;
    private const int MSG_WAITFORONE = 0x10000;
    private const int UioMaxIov = 1024;
    private const int MaxControl = 131072;
    private const int MsghdrSize = 56;
    private const int MmsghdrSize = 64;

    private static int CmsgAlign(int n) => ControlMessageReader.Align(n);

    /// <summary>Implements sendto(2).</summary>
    public static long Sendto(Task t, in SyscallArgs a)
    {
        var iov = IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount));
        int flags = a.Int(3);
        ulong dest = a.Pointer(4);
        int destLen = a.Int(5);
        return WithSocket(t, a.Int(0), s => SendOne(t, s, iov, flags, dest, destLen, new SendControl()));
    }

    /// <summary>Implements recvfrom(2).</summary>
    public static long Recvfrom(Task t, in SyscallArgs a)
    {
        var iov = IoSequence.App(a.Pointer(1), Math.Min(a.SizeT(2), SysReadWrite.MaxRwCount));
        int flags = a.Int(3);
        ulong addr = a.Pointer(4);
        ulong lenAddr = a.Pointer(5);
        return WithSocket(t, a.Int(0), s =>
        {
            var res = new RecvResult();
            long r = s.Receive(t, iov, flags & ~MSG_CMSG_CLOEXEC, res);
            DropRights(res);
            if (r >= 0 && addr != 0 && WriteAddress(t, addr, lenAddr, res.From == null ? [] : EncodeName(res.From)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return r;
        });
    }

    /// <summary>Implements sendmsg(2).</summary>
    public static long Sendmsg(Task t, in SyscallArgs a)
    {
        ulong msg = a.Pointer(1);
        int flags = a.Int(2);
        return WithSocket(t, a.Int(0), s => SendMsg(t, s, msg, flags));
    }

    /// <summary>Implements recvmsg(2).</summary>
    public static long Recvmsg(Task t, in SyscallArgs a)
    {
        ulong msg = a.Pointer(1);
        int flags = a.Int(2);
        return WithSocket(t, a.Int(0), s => RecvMsg(t, s, msg, flags));
    }

    /// <summary>Implements sendmmsg(2): sends until one fails; the count sent wins over a later error.</summary>
    public static long Sendmmsg(Task t, in SyscallArgs a)
    {
        ulong vec = a.Pointer(1);
        uint vlen = Math.Min((uint)a.Int(2), UioMaxIov);
        int flags = a.Int(3);
        return WithSocket(t, a.Int(0), s => ForEachMessage(t, s, flags, false, vec, vlen, long.MaxValue, static (t, s, m, f) => SendMsg(t, s, m, f)));
    }

    /// <summary>
    /// Implements recvmmsg(2). MSG_WAITFORONE makes every receive after the first non-blocking; the timeout,
    /// as in Linux, is only checked between messages.
    /// </summary>
    public static long Recvmmsg(Task t, in SyscallArgs a)
    {
        ulong vec = a.Pointer(1);
        uint vlen = Math.Min((uint)a.Int(2), UioMaxIov);
        int flags = a.Int(3);
        long r = ReadMmsgTimeout(t, a.Pointer(4), out long deadline);
        if (r < 0)
        {
            return r;
        }

        return WithSocket(t, a.Int(0), s => ForEachMessage(t, s, flags, true, vec, vlen, deadline, static (t, s, m, f) => RecvMsg(t, s, m, f)));
    }

    // sendmmsg and recvmmsg of every socket type: one message after the other until one fails (the count
    // done wins over a later error), each one's result stored in its msg_len; the deadline is checked between
    // messages, and a receive applies MSG_WAITFORONE. The socket goes in as an argument so that callers pass
    // static lambdas: no closure per call.
    private static long ForEachMessage<TSocket>(Task t, TSocket s, int flags, bool receive, ulong vec, uint vlen, long deadline, Func<Task, TSocket, ulong, int, long> one)
    {
        uint i = 0;
        long err = 0;
        for (; i < vlen; i++)
        {
            ulong m = vec + ((ulong)i * MmsghdrSize);
            long r = one(t, s, m, receive ? MmsgReceiveFlags(flags, i) : flags);
            if (r < 0)
            {
                err = r;
                break;
            }

            if (t.MM.CopyOut(m + MsghdrSize, (uint)r) < 0)
            {
                err = -Errno.EFAULT.Value;
                break;
            }

            if (Environment.TickCount64 >= deadline)
            {
                i++;
                break;
            }
        }

        return i > 0 ? i : err;
    }

    // MSG_WAITFORONE: every receive after the first is non-blocking.
    private static int MmsgReceiveFlags(int flags, uint index) =>
        (index > 0 && (flags & MSG_WAITFORONE) != 0 ? flags | UnixSocket.MSG_DONTWAIT : flags) & ~MSG_WAITFORONE;

    // recvmmsg's timeout as a TickCount64 deadline (long.MaxValue without one). Returns 0 or -errno.
    private static long ReadMmsgTimeout(Task t, ulong addr, out long deadline)
    {
        deadline = long.MaxValue;
        if (addr == 0)
        {
            return 0;
        }

        Span<long> ts = stackalloc long[2];
        if (t.MM.CopyIn(addr, MemoryMarshal.AsBytes(ts)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1_000_000_000)
        {
            return -Errno.EINVAL.Value;
        }

        deadline = Environment.TickCount64 + (Math.Min(ts[0], int.MaxValue) * 1000) + (ts[1] / 1_000_000);
        return 0;
    }

    private static long SendOne(Task t, UnixSocket s, IoSequence iov, int flags, ulong dest, int destLen, SendControl ctl)
    {
        try
        {
            string? name = null;
            if (dest != 0 && destLen != 0)
            {
                if (destLen < 0 || destLen > 128)
                {
                    return -Errno.EINVAL.Value;
                }

                if (s.Type == UnixSocket.SOCK_DGRAM)
                {
                    long r = ReadName(t, dest, destLen, allowUnnamed: false, out name, out _);
                    if (r < 0)
                    {
                        return r;
                    }
                }
                else
                {
                    name = string.Empty;
                }
            }

            return s.Send(t, iov, ctl, default, flags, name);
        }
        finally
        {
            ctl.Release();
        }
    }

    private static long SendMsg(Task t, UnixSocket s, ulong msgAddr, int flags)
    {
        // struct msghdr: name, namelen(+pad), iov, iovlen, control, controllen, flags.
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ReadPairs(t, m[2], m[3], out IoSequence iov);
        if (r < 0)
        {
            return r;
        }

        var ctl = new SendControl();
        r = ReadControl(t, m[4], m[5], ctl);
        if (r < 0)
        {
            ctl.Release();
            return r;
        }

        return SendOne(t, s, iov, flags, m[0], (int)(uint)m[1], ctl);
    }

    // Parses the control messages of a send: SCM_RIGHTS (taking a reference on each file) and SCM_CREDENTIALS.
    private static long ReadControl(Task t, ulong addr, ulong len, SendControl ctl)
    {
        if (len > int.MaxValue || len > MaxControl)
        {
            return -Errno.ENOBUFS.Value;
        }

        if (len < CmsgHeader || addr == 0)
        {
            return 0;
        }

        byte[] buf = new byte[len];
        if (t.MM.CopyIn(addr, buf) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        var rights = new List<FileDescription>();
        try
        {
            var messages = new ControlMessageReader(buf);
            long bad;
            while (messages.Next(out int level, out int type, out ReadOnlySpan<byte> data, out bad))
            {
                if (level == SOL_SOCKET)
                {
                    long r = type switch
                    {
                        SCM_RIGHTS => ReadRights(t, data, rights),
                        SCM_CREDENTIALS => ReadCreds(t, data, ctl),
                        _ => -Errno.EINVAL.Value,
                    };
                    if (r < 0)
                    {
                        return r;
                    }
                }
            }

            if (bad < 0)
            {
                return bad;
            }

            if (rights.Count > 0)
            {
                ctl.Rights = [.. rights];
                rights.Clear();
            }

            return 0;
        }
        finally
        {
            foreach (FileDescription f in rights)
            {
                f.DecRef();
            }
        }
    }

    private static long ReadRights(Task t, ReadOnlySpan<byte> data, List<FileDescription> rights)
    {
        int n = data.Length / 4;
        if (n > ScmMaxFd || rights.Count + n > ScmMaxFd)
        {
            return -Errno.EINVAL.Value;
        }

        for (int i = 0; i < n; i++)
        {
            FileDescription? f = t.Fds.Get(MemoryMarshal.Read<int>(data[(i * 4)..]));
            if (f == null)
            {
                return -Errno.EBADF.Value;
            }

            rights.Add(f);
        }

        return 0;
    }

    // SCM_CREDENTIALS: only root may claim another process's pid or ids it does not hold.
    private static long ReadCreds(Task t, ReadOnlySpan<byte> data, SendControl ctl)
    {
        if (data.Length != 12)
        {
            return -Errno.EINVAL.Value;
        }

        int pid = MemoryMarshal.Read<int>(data);
        uint uid = MemoryMarshal.Read<uint>(data[4..]);
        uint gid = MemoryMarshal.Read<uint>(data[8..]);
        Credentials c = t.Credentials;
        int self = t.Group.Pid.In(t.PidNs);
        bool ok = (pid == self || c.IsRoot)
            && (uid == c.RealUid || uid == c.EffectiveUid || uid == c.SavedUid || c.IsRoot)
            && (gid == c.RealGid || gid == c.EffectiveGid || gid == c.SavedGid || c.IsRoot);
        if (!ok)
        {
            return -Errno.EPERM.Value;
        }

        if (pid != self && t.Kernel.FindGroup(t.PidNs, pid) == null)
        {
            return -Errno.ESRCH.Value;
        }

        // Kept by global id; each receiver sees it in its own pid namespace.
        ctl.Creds = new UnixCredentials(t.Kernel.GlobalOf(t.PidNs, pid), uid, gid);
        return 0;
    }

    private static void DropRights(RecvResult res)
    {
        if (res.Rights != null)
        {
            foreach (FileDescription f in res.Rights)
            {
                f.DecRef();
            }

            res.Rights = null;
        }
    }

    private static long RecvMsg(Task t, UnixSocket s, ulong msgAddr, int flags)
    {
        Span<ulong> m = stackalloc ulong[7];
        if (t.MM.CopyIn(msgAddr, MemoryMarshal.AsBytes(m)) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        long r = ReadPairs(t, m[2], m[3], out IoSequence iov);
        if (r < 0)
        {
            return r;
        }

        if (m[5] > int.MaxValue)
        {
            return -Errno.EINVAL.Value;
        }

        var res = new RecvResult();
        r = s.Receive(t, iov, flags & ~MSG_CMSG_CLOEXEC, res);
        if (r < 0)
        {
            DropRights(res);
            return r;
        }

        int outFlags = res.Flags | (flags & MSG_CMSG_CLOEXEC);
        ulong control = m[4];
        int controlLen = control == 0 ? 0 : (int)m[5];
        int used = WriteControl(t, control, controlLen, res, (flags & MSG_CMSG_CLOEXEC) != 0, ref outFlags);
        if (used < 0)
        {
            return used;
        }

        if (m[0] != 0)
        {
            byte[] name = res.From == null ? [] : EncodeName(res.From);
            int userLen = (int)(uint)m[1];
            if (userLen < 0)
            {
                return -Errno.EINVAL.Value;
            }

            if (t.MM.CopyOut(m[0], name.AsSpan(0, Math.Min(userLen, name.Length))) < 0 || t.MM.CopyOut(msgAddr + 8, name.Length) < 0)
            {
                return -Errno.EFAULT.Value;
            }
        }

        if (t.MM.CopyOut(msgAddr + 40, (ulong)used) < 0 || t.MM.CopyOut(msgAddr + 48, outFlags) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return r;
    }

    // Writes the received control messages as Linux's put_cmsg and scm_detach_fds do: credentials first,
    // then as many files as fit (installed in the caller's table); what does not fit sets MSG_CTRUNC and
    // the files left over are closed. Returns the bytes of control buffer used, or -errno.
    private static int WriteControl(Task t, ulong addr, int len, RecvResult res, bool cloexec, ref int flags)
    {
        int used = 0;
        if (res.Creds is UnixCredentials c)
        {
            Span<byte> cm = stackalloc byte[CmsgHeader + 12];
            int clen = cm.Length;
            if (len - used < CmsgHeader)
            {
                flags |= UnixSocket.MSG_CTRUNC;
            }
            else
            {
                if (len - used < clen)
                {
                    flags |= UnixSocket.MSG_CTRUNC;
                    clen = len - used;
                }

                MemoryMarshal.Write(cm, (ulong)clen);
                MemoryMarshal.Write(cm[8..], SOL_SOCKET);
                MemoryMarshal.Write(cm[12..], SCM_CREDENTIALS);
                MemoryMarshal.Write(cm[16..], t.Kernel.IdIn(t.PidNs, c.Pid));
                MemoryMarshal.Write(cm[20..], c.Uid);
                MemoryMarshal.Write(cm[24..], c.Gid);
                if (t.MM.CopyOut(addr + (ulong)used, cm[..clen]) < 0)
                {
                    DropRights(res);
                    return -Errno.EFAULT.Value;
                }

                used += Math.Min(CmsgAlign(CmsgHeader + 12), len - used);
            }
        }

        FileDescription[]? rights = res.Rights;
        if (rights == null)
        {
            return used;
        }

        int left = len - used;
        int fdmax = left > CmsgHeader ? Math.Min((left - CmsgHeader) / 4, rights.Length) : 0;
        var fds = new List<int>();
        for (int i = 0; i < fdmax; i++)
        {
            int fd = t.Fds.Add(rights[i], cloexec, 0, Limit(t));
            if (fd < 0)
            {
                break;
            }

            fds.Add(fd);
        }

        if (fds.Count < rights.Length)
        {
            flags |= UnixSocket.MSG_CTRUNC;
        }

        DropRights(res);
        if (fds.Count > 0)
        {
            byte[] cm = new byte[CmsgHeader + (4 * fds.Count)];
            MemoryMarshal.Write(cm, (ulong)cm.Length);
            MemoryMarshal.Write(cm.AsSpan(8), SOL_SOCKET);
            MemoryMarshal.Write(cm.AsSpan(12), SCM_RIGHTS);
            MemoryMarshal.AsBytes(fds.ToArray().AsSpan()).CopyTo(cm.AsSpan(CmsgHeader));
            if (t.MM.CopyOut(addr + (ulong)used, cm) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            used += Math.Min(CmsgAlign(cm.Length), len - used);
        }

        return used;
    }
}
