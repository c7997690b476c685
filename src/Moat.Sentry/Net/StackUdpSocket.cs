using System;
using System.Buffers;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Net.Stack;
using Moat.Sentry.Vfs;
using Ready = Moat.Sentry.Net.Stack.Readiness;

namespace Moat.Sentry.Net;

/// <summary>
/// An AF_INET UDP socket over the Sentry's netstack (a UdpEndpoint of the SandboxNetwork). A datagram goes
/// through a pooled Sentry buffer on its way (the endpoint builds the packet from a span), so no call allocates.
/// </summary>
internal sealed class StackUdpSocket : InetSocket, IReadinessListener
{
    private const int MaxDatagram = 65507;

    private readonly UdpEndpoint _ep;

    // Protected by Mu.
    private bool _shutRead;
    private bool _shutWrite;

    private readonly Func<bool> _canRead;

    public StackUdpSocket(LoopbackStack loopback, UdpEndpoint ep, int flags, uint uid)
        : base(loopback, InetAddr.AF_INET, SOCK_DGRAM, flags, uid)
    {
        _ep = ep;
        _canRead = CanRead;
        SendBuffer = UdpSocket.DefaultBuffer;
        ep.Listener = this;
    }

    public void OnReadinessChanged(int events) => Events.Notify();

    public override bool IsListeningSocket => false;

    public override bool IsConnectedSocket => _ep.Connected;

    public override int ReceiveBuffer
    {
        get => _ep.ReceiveBufferSize;
        set => _ep.ReceiveBufferSize = value;
    }

    public override int TakeError() => _ep.TakeError().Value;

    public override long GetName(bool peer, out InetAddr a)
    {
        if (peer)
        {
            a = new InetAddr(InetAddr.FromV4(_ep.RemoteAddress.Value), _ep.RemotePort);
            return _ep.Connected ? 0 : -Errno.ENOTCONN.Value;
        }

        a = new InetAddr(InetAddr.FromV4(_ep.LocalAddress.Value), _ep.LocalPort);
        return 0;
    }

    public override long Bind(InetAddr a)
    {
        if (!a.IsV4)
        {
            return -Errno.EAFNOSUPPORT.Value;
        }

        _ep.ReuseAddress = ReuseAddr;
        _ep.ReusePort = ReusePort;
        return -_ep.Bind(new Ip4Address(a.V4), a.Port).Value;
    }

    public override long Connect(Task t, InetAddr dst)
    {
        if (!dst.IsV4)
        {
            return -Errno.EAFNOSUPPORT.Value;
        }

        long r = -_ep.Connect(new Ip4Address(dst.IsAny ? Ip4Address.Loopback.Value : dst.V4), dst.Port).Value;
        Events.Notify();
        return r;
    }

    /// <summary>connect(AF_UNSPEC): forgets the peer.</summary>
    public long Disconnect()
    {
        _ep.Disconnect();
        Events.Notify();
        return 0;
    }

    public override long Listen(int backlog) => -Errno.EOPNOTSUPP.Value;

    public override long Accept(Task t, out InetSocket? conn)
    {
        conn = null;
        return -Errno.EOPNOTSUPP.Value;
    }

    public override long Shutdown(int how)
    {
        if (how is < 0 or > 2)
        {
            return -Errno.EINVAL.Value;
        }

        lock (Mu)
        {
            _shutRead |= how != 1;
            _shutWrite |= how != 0;
        }

        Events.Notify();
        return _ep.Connected ? 0 : -Errno.ENOTCONN.Value;
    }

    public override long Send(Task t, in IoSequence src, int flags, InetAddr? dst)
    {
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        lock (Mu)
        {
            if (_shutWrite)
            {
                return PipeError(t, flags);
            }
        }

        if (dst is InetAddr d && (!d.IsV4 || d.Port == 0))
        {
            return d.IsV4 ? -Errno.EINVAL.Value : -Errno.EAFNOSUPPORT.Value;
        }

        if (src.Total > MaxDatagram)
        {
            return -Errno.EMSGSIZE.Value;
        }

        int len = (int)src.Total;
        byte[] buf = ArrayPool<byte>.Shared.Rent(Math.Max(len, 1));
        try
        {
            if (src.CopyIn(t.MM, 0, buf.AsSpan(0, len)) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            Errno err = dst is InetAddr to
                ? _ep.SendTo(buf.AsSpan(0, len), new Ip4Address(to.IsAny ? Ip4Address.Loopback.Value : to.V4), to.Port)
                : _ep.SendTo(buf.AsSpan(0, len));
            return err == Errno.None ? len : -err.Value;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    public override long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags)
    {
        from = default;
        msgFlags = 0;
        if ((flags & MSG_OOB) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        bool peek = (flags & MSG_PEEK) != 0;
        var deadline = new SocketDeadline(ReceiveTimeoutUs);
        byte[] buf = ArrayPool<byte>.Shared.Rent(65536);
        try
        {
            while (true)
            {
                int want = (int)Math.Min(dst.Total, (ulong)buf.Length);
                Errno err = _ep.Receive(buf.AsSpan(0, want), out int length, out Ip4Address src, out ushort port, peek);
                if (err == Errno.None)
                {
                    int n = Math.Min(length, want);
                    if (n > 0 && dst.CopyOut(t.MM, 0, buf.AsSpan(0, n)) < 0)
                    {
                        return -Errno.EFAULT.Value;
                    }

                    from = new InetAddr(InetAddr.FromV4(src.Value), port);
                    if (n < length)
                    {
                        msgFlags |= MSG_TRUNC;
                    }

                    return (flags & MSG_TRUNC) != 0 ? length : n;
                }

                if (err != Errno.EAGAIN)
                {
                    return -err.Value;
                }

                lock (Mu)
                {
                    if (_shutRead)
                    {
                        return 0;
                    }
                }

                if (IsNonBlocking(flags))
                {
                    return -Errno.EAGAIN.Value;
                }

                long r = deadline.Wait(t, Events, _canRead);
                if (r < 0)
                {
                    return r;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    private bool CanRead()
    {
        if ((_ep.Events & (Ready.Readable | Ready.Error)) != 0)
        {
            return true;
        }

        lock (Mu)
        {
            return _shutRead;
        }
    }

    public override int Available => _ep.NextLength;

    public override int Readiness(int events)
    {
        int r = _ep.Events;
        lock (Mu)
        {
            if (_shutRead)
            {
                r |= PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLRDHUP;
            }

            if (_shutRead && _shutWrite)
            {
                r |= PollEvents.POLLHUP;
            }
        }

        return r & (events | PollEvents.POLLHUP | PollEvents.POLLERR);
    }

    protected override void Release()
    {
        _ep.Listener = null;
        _ep.Close();
        Events.Notify();
    }
}
