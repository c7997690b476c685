using System;

namespace Moat.Sentry.Net;

/// <summary>
/// TCP_DEFER_ACCEPT's seconds as Linux keeps them: the SYN-ACK retransmissions (1 s, doubling to 120 s) that
/// cover the time, so getsockopt reads back the whole span those retransmissions take.
/// </summary>
internal static class TcpDeferAccept
{
    /// <summary>The retransmissions that cover <paramref name="seconds"/> (255 at most).</summary>
    public static int SecondsToRetrans(int seconds)
    {
        if (seconds <= 0)
        {
            return 0;
        }

        int res = 1, timeout = 1, period = 1;
        while (seconds > period && res < 255)
        {
            res++;
            timeout = Math.Min(timeout << 1, 120);
            period += timeout;
        }

        return res;
    }

    /// <summary>The seconds <paramref name="retrans"/> retransmissions span.</summary>
    public static int RetransToSeconds(int retrans)
    {
        if (retrans <= 0)
        {
            return 0;
        }

        int timeout = 1, period = 1;
        while (--retrans > 0)
        {
            timeout = Math.Min(timeout << 1, 120);
            period += timeout;
        }

        return period;
    }
}
