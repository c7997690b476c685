using System;

namespace Moat.Sentry.Mm;

/// <summary>
/// A source of bytes that fills blocks of memory it is handed (gVisor's safemem.Reader): a file's data read
/// straight into pinned application pages, with no copy through a Sentry buffer.
/// </summary>
internal interface IBlockReader
{
    /// <summary>
    /// Fills the start of <paramref name="block"/>. Returns the bytes written (fewer than the block's length
    /// ends the transfer: the source has no more now), or -errno. Must not sleep or touch any MemoryManager:
    /// the block may be application memory under a pin (Mm/MemoryManager.Active.cs).
    /// </summary>
    long ReadToBlock(Span<byte> block);
}
