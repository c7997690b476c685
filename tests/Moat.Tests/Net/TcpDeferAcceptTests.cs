using Moat.Sentry.Net;

namespace Moat.Tests.Net;

/// <summary>TCP_DEFER_ACCEPT's seconds, kept as Linux keeps them: SYN-ACK retransmissions (1 s, doubling, 120 s at most).</summary>
public class TcpDeferAcceptTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(-3, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(3, 3)]
    [InlineData(4, 7)]
    [InlineData(5, 7)]
    [InlineData(8, 15)]
    [InlineData(16, 31)]
    [InlineData(40, 63)]
    [InlineData(200, 247)]
    public void DeferAccept_Seconds_ReadBackAsLinuxRoundsThem(int set, int read) =>
        Assert.Equal(read, TcpDeferAccept.RetransToSeconds(TcpDeferAccept.SecondsToRetrans(set)));

    [Fact]
    public void DeferAccept_HugeValue_StopsAt255Retransmissions() =>
        Assert.Equal(255, TcpDeferAccept.SecondsToRetrans(int.MaxValue));
}
