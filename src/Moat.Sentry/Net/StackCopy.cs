using System;
using Moat.Abi;
using Moat.Sentry.Mm;
using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Net;

/// <summary>
/// Moves bytes between the application's memory and a TCP endpoint's rings with no Sentry buffer between:
/// IoSequence hands each pinned block of application memory to the endpoint's Send or Receive, which copies
/// under the stack's lock (lock order: the MemoryManager's pin, then the stack's Mu).
/// </summary>
internal ref struct TcpSendWriter : IBlockWriter
{
    private readonly TcpEndpoint _ep;
    private readonly bool _more;

    /// <param name="more">MSG_MORE: the endpoint holds a partial last segment for what follows.</param>
    public TcpSendWriter(TcpEndpoint ep, bool more = false)
    {
        _ep = ep;
        _more = more;
        Error = Errno.None;
    }

    /// <summary>Why the last block was taken short (EAGAIN when the send buffer filled), or None.</summary>
    public Errno Error { get; private set; }

    public long WriteFromBlock(ReadOnlySpan<byte> block)
    {
        Error = _ep.Send(block, out int n, _more);
        return n;
    }
}

/// <summary>The receiving half of <see cref="TcpSendWriter"/>: fills application blocks from the receive ring.</summary>
internal ref struct TcpReceiveReader : IBlockReader
{
    private readonly TcpEndpoint _ep;
    private readonly bool _peek;
    private int _peeked;

    public TcpReceiveReader(TcpEndpoint ep, bool peek)
    {
        _ep = ep;
        _peek = peek;
        Error = Errno.None;
    }

    /// <summary>What ended the copy when a block came back empty: EAGAIN, a pending error, or None at end of stream.</summary>
    public Errno Error { get; private set; }

    public long ReadToBlock(Span<byte> block)
    {
        Error = _ep.Receive(block, out int n, _peek, _peeked);
        _peeked += n;
        return n;
    }
}
