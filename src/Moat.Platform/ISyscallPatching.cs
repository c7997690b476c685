using System;

namespace Moat.Platform;

/// <summary>
/// A platform that can serve a syscall site without a trap once the Sentry has rewritten it
/// (docs/systrap-platform.md, "Syscall-site patching"): the site's <c>mov $nr,%eax; syscall</c> becomes
/// <c>jmp *entry</c>, where entry is a slot of a trap table the Sentry maps in the app's address space and
/// fills with what <see cref="BuildEntry"/> writes.
/// </summary>
public interface ISyscallPatching
{
    /// <summary>Where the trap table goes: [TableStart, TableEnd), below 2 GiB so that a 32-bit absolute address reaches it.</summary>
    ulong TableStart { get; }

    ulong TableEnd { get; }

    /// <summary>Bytes per entry; entries are aligned to it.</summary>
    int EntrySize { get; }

    /// <summary>
    /// Writes the entry at <paramref name="entryAddress"/> for a site whose syscall <paramref name="nr"/>
    /// returns to <paramref name="returnAddress"/>. Its first 8 bytes are the address the patched jump reads.
    /// </summary>
    void BuildEntry(Span<byte> entry, ulong entryAddress, ulong returnAddress, uint nr);
}
