using System;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// Linux's socket memory accounting for TCP, in the units SO_SNDBUF and SO_RCVBUF report: a buffer's size is
/// the memory its skbs may take (payload plus each skb's overhead, its truesize), not the payload. These turn
/// sizes into the payload the rings hold and back, and size the send buffer from the congestion window.
/// </summary>
internal static class TcpBufferSizing
{
    /// <summary>What an skb costs beyond its payload (sk_buff, skb_shared_info, the header's room), as measured on Linux 6.18's lo.</summary>
    public const int SkbOverhead = 1152;

    /// <summary>A send queue's skbs carry up to 64 KiB each (GSO's size goal, lo's MTU).</summary>
    private const int SendSkbPayload = 65536;

    /// <summary>tcp_rmem's window share before a segment was measured: half (TCP_DEFAULT_SCALING_RATIO, in 256ths).</summary>
    public const int DefaultScalingRatio = 128;

    // MAX_TCP_HEADER, SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86-64.
    private const int MaxTcpHeader = 320;
    private const int SharedInfoSize = 320;
    private const int SkbStructSize = 256;

    /// <summary>The payload a send buffer of <paramref name="space"/> bytes queues (sk_wmem_queued against sk_sndbuf).</summary>
    public static int SendPayload(int space) => (int)((long)space * SendSkbPayload / (SendSkbPayload + SkbOverhead));

    /// <summary>
    /// Linux's scaling_ratio (tcp_measure_rcv_mss): the share of a received skb's truesize that is payload, in
    /// 256ths, from a full-sized segment of <paramref name="length"/> bytes.
    /// </summary>
    public static int ScalingRatio(int length) => Math.Clamp((length << 8) / (length + SkbOverhead), 1, 255);

    /// <summary>tcp_win_from_space: the window (payload) a receive buffer of <paramref name="space"/> bytes offers.</summary>
    public static int WindowFromSpace(int space, int ratio) => (int)(((long)space * ratio) >> 8);

    /// <summary>tcp_space_from_win: the receive buffer that offers a window of <paramref name="window"/> bytes.</summary>
    public static long SpaceFromWindow(long window, int ratio) => (window << 8) / ratio;

    /// <summary>
    /// tcp_sndbuf_expand: room for twice the congestion window (at least the initial ten segments), each
    /// segment costing its MSS plus headers and skb rounded up to a power of two, as Linux allocates it.
    /// </summary>
    public static long SendSpaceFor(int mssClamp, long cwndSegments, int initialSegments)
    {
        long perMss = (long)RoundUpPowerOfTwo(mssClamp + MaxTcpHeader + SharedInfoSize) + SkbStructSize;
        return 2 * Math.Max(cwndSegments, initialSegments) * perMss;
    }

    private static int RoundUpPowerOfTwo(int v) => v <= 1 ? 1 : 1 << (32 - int.LeadingZeroCount(v - 1));
}
