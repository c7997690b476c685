using System;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class FakeClock : IStackClock
{
    public long NowNs { get; set; } = 1_000_000_000;
}

/// <summary>
/// Two stacks, A (10.0.0.1) and B (10.0.0.2), joined by a pair of channel links. <see cref="RunUntil"/> moves
/// packets both ways and, when none is in flight, jumps the fake clock to the next timer: runs are
/// deterministic and take no wall time.
/// </summary>
internal sealed class TwoStacks
{
    public static readonly Ip4Address AddrA = Ip4Address.Parse("10.0.0.1");
    public static readonly Ip4Address AddrB = Ip4Address.Parse("10.0.0.2");

    public TwoStacks(int mtu = 1500, LinkKind kind = LinkKind.Ip)
    {
        A = new NetworkStack(Clock, seed: 11);
        B = new NetworkStack(Clock, seed: 22);
        LinkA = new ChannelLink(mtu, kind, new MacAddress(0x02_00_00_00_00_01)) { Random = new Random(5) };
        LinkB = new ChannelLink(mtu, kind, new MacAddress(0x02_00_00_00_00_02)) { Random = new Random(6) };
        A.AddNic(LinkA, AddrA, 24);
        B.AddNic(LinkB, AddrB, 24);
    }

    public FakeClock Clock { get; } = new();

    public NetworkStack A { get; }

    public NetworkStack B { get; }

    /// <summary>A's outgoing link (its loss and filter apply to A→B).</summary>
    public ChannelLink LinkA { get; }

    public ChannelLink LinkB { get; }

    /// <summary>Runs the network until <paramref name="done"/> holds, calling <paramref name="step"/> each round.</summary>
    public bool RunUntil(Func<bool> done, Action? step = null, int maxRounds = 2_000_000)
    {
        for (int i = 0; i < maxRounds; i++)
        {
            step?.Invoke();
            if (done())
            {
                return true;
            }
            int moved = LinkA.TransferTo(LinkB) + LinkB.TransferTo(LinkA);
            if (moved == 0)
            {
                long next = Math.Min(A.NextDeadline, B.NextDeadline);
                if (next == long.MaxValue)
                {
                    step?.Invoke();
                    return done();
                }
                Clock.NowNs = Math.Max(Clock.NowNs, next);
                A.ProcessTimers();
                B.ProcessTimers();
            }
        }
        return false;
    }

    /// <summary>Moves packets until none is left in flight (timers not run).</summary>
    public void Flush()
    {
        while (LinkA.TransferTo(LinkB) + LinkB.TransferTo(LinkA) > 0)
        {
        }
    }

    /// <summary>A connection from A to a listener on B's <paramref name="port"/>, both ends established.</summary>
    public (TcpEndpoint Client, TcpEndpoint Server, TcpEndpoint Listener) Connect(ushort port = 80, Action<TcpEndpoint>? setupClient = null, Action<TcpEndpoint>? setupListener = null)
    {
        TcpEndpoint listener = B.CreateTcp();
        setupListener?.Invoke(listener);
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Any, port));
        Assert.Equal(Errno.None, listener.Listen(16));
        TcpEndpoint client = A.CreateTcp();
        setupClient?.Invoke(client);
        Assert.Equal(Errno.EINPROGRESS, client.Connect(AddrB, port));
        TcpEndpoint? server = null;
        Assert.True(RunUntil(() => client.State == TcpState.Established && listener.Accept(out server) == Errno.None));
        Assert.NotNull(server);
        Flush();
        return (client, server!, listener);
    }
}
