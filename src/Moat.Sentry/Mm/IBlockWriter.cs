using System;

namespace Moat.Sentry.Mm;

/// <summary>
/// A sink that takes bytes from blocks of memory it is handed (gVisor's safemem.Writer): application pages
/// written to a file while they are pinned, with no copy through a Sentry buffer.
/// </summary>
internal interface IBlockWriter
{
    /// <summary>
    /// Takes the start of <paramref name="block"/>. Returns the bytes taken (fewer than the block's length ends
    /// the transfer), or -errno. Must not sleep or touch any MemoryManager: the block may be application
    /// memory under a pin (Mm/MemoryManager.Active.cs).
    /// </summary>
    long WriteFromBlock(ReadOnlySpan<byte> block);
}
