using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Net;

/// <summary>
/// A UDP socket's sends and receives with what sendmsg and recvmsg carry as control messages: the hop limit
/// (TTL) and traffic class (TOS) of a datagram and its arrival time. The loopback network's UdpSocket and the
/// netstack's StackUdpSocket both serve it.
/// </summary>
internal interface IInetDatagramSocket
{
    /// <summary>send with <paramref name="hops"/> and <paramref name="tclass"/> from control messages (-1: the socket's own).</summary>
    long Send(Task t, in IoSequence src, int flags, InetAddr? to, int hops, int tclass);

    /// <summary>recv, with what the datagram arrived with.</summary>
    long Receive(Task t, in IoSequence dst, int flags, out InetAddr from, out int msgFlags, out int hops, out int tclass, out long stampNs);
}
