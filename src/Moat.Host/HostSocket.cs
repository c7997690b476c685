using System;
using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>Unix-domain socket pairs and fd passing (SCM_RIGHTS), for the Sentry–gofer channel.</summary>
public static unsafe class HostSocket
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_SEQPACKET = 5;
    public const int SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1;
    private const int SCM_RIGHTS = 1;
    private const int MSG_CMSG_CLOEXEC = 0x40000000;

    [StructLayout(LayoutKind.Sequential)]
    private struct CmsgFd
    {
        public nuint Len;
        public int Level;
        public int Type;
        public int Fd;
        public int Pad;
    }

    /// <summary>socketpair(2) with close-on-exec. Returns 0 or -errno.</summary>
    public static long SocketPair(int type, out SafeFdHandle a, out SafeFdHandle b)
    {
        a = new SafeFdHandle();
        b = new SafeFdHandle();
        int* sv = stackalloc int[2];
        long r = HostResult.FromInt(Interop.Libc.socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv));
        if (r == 0)
        {
            a = new SafeFdHandle(sv[0]);
            b = new SafeFdHandle(sv[1]);
        }

        return r;
    }

    /// <summary>Sends one message, with <paramref name="passFd"/> attached when it is not -1. Returns bytes sent or -errno.</summary>
    public static long Send(int socket, ReadOnlySpan<byte> data, int passFd)
    {
        fixed (byte* p = data)
        {
            var iov = new IoVec { Base = p, Len = (nuint)data.Length };
            var cmsg = new CmsgFd { Len = 20, Level = SOL_SOCKET, Type = SCM_RIGHTS, Fd = passFd };
            var msg = new MsgHdr { Iov = &iov, IovLen = 1 };
            if (passFd >= 0)
            {
                msg.Control = &cmsg;
                msg.ControlLen = 24;
            }

            while (true)
            {
                nint r = Interop.Libc.sendmsg(socket, &msg, 0x4000 /* MSG_NOSIGNAL */);
                long res = HostResult.FromNint(r);
                if (res != -4)
                {
                    return res;
                }
            }
        }
    }

    /// <summary>Receives one message and any fd passed with it (close-on-exec). Returns bytes or -errno.</summary>
    public static long Receive(int socket, Span<byte> buffer, out int receivedFd)
    {
        receivedFd = -1;
        fixed (byte* p = buffer)
        {
            var iov = new IoVec { Base = p, Len = (nuint)buffer.Length };
            var cmsg = default(CmsgFd);
            var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = &cmsg, ControlLen = 24 };
            long r;
            do
            {
                r = HostResult.FromNint(Interop.Libc.recvmsg(socket, &msg, MSG_CMSG_CLOEXEC));
            }
            while (r == -4);

            if (r >= 0 && msg.ControlLen >= 20 && cmsg.Level == SOL_SOCKET && cmsg.Type == SCM_RIGHTS)
            {
                receivedFd = cmsg.Fd;
            }

            return r;
        }
    }
}
