using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Net;

/// <summary>How a socket address becomes an address of the netstack (both keep IPv4 in the mapped form).</summary>
internal static class StackAddress
{
    /// <summary>A local address to bind (:: stays apart from 0.0.0.0, which an AF_INET6 socket may bind as ::ffff:0.0.0.0).</summary>
    public static IpAddress Local(InetAddr a) => new(a.Ip);

    /// <summary>A destination: 0.0.0.0 and :: mean this host (127.0.0.1 and ::1), as in Linux.</summary>
    public static IpAddress Remote(InetAddr a)
    {
        if (a.Ip == 0)
        {
            return IpAddress.V6Loopback;
        }
        return a.IsAny ? Ip4Address.Loopback : new IpAddress(a.Ip);
    }
}
