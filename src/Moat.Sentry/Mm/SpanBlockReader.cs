using System;

namespace Moat.Sentry.Mm;

/// <summary>A Sentry span as an <see cref="IBlockReader"/>: its bytes, in order, across the blocks.</summary>
internal ref struct SpanBlockReader : IBlockReader
{
    private ReadOnlySpan<byte> _rest;

    public SpanBlockReader(ReadOnlySpan<byte> src) => _rest = src;

    public long ReadToBlock(Span<byte> block)
    {
        int n = Math.Min(block.Length, _rest.Length);
        _rest[..n].CopyTo(block);
        _rest = _rest[n..];
        return n;
    }
}
