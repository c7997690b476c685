namespace Moat.Sentry.Net.Stack;

/// <summary>The states of a TCP connection (RFC 793), numbered as Linux's TCP_* states for /proc/net/tcp.</summary>
internal enum TcpState
{
    Established = 1,
    SynSent = 2,
    SynReceived = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Closed = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
}
