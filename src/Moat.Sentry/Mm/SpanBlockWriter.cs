using System;

namespace Moat.Sentry.Mm;

/// <summary>A Sentry span as an <see cref="IBlockWriter"/>: filled, in order, from the blocks.</summary>
internal ref struct SpanBlockWriter : IBlockWriter
{
    private Span<byte> _rest;

    public SpanBlockWriter(Span<byte> dst) => _rest = dst;

    public long WriteFromBlock(ReadOnlySpan<byte> block)
    {
        int n = Math.Min(block.Length, _rest.Length);
        block[..n].CopyTo(_rest);
        _rest = _rest[n..];
        return n;
    }
}
