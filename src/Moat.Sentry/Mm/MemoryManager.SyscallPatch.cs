using System;
using System.Buffers.Binary;
using System.Threading;
using Moat.Abi;
using Moat.Platform;

namespace Moat.Sentry.Mm;

/// <summary>
/// Syscall-site patching (docs/systrap-platform.md, "Syscall-site patching"): the first time a syscall traps at
/// <c>mov $nr,%eax; syscall</c> in private, executable, read-only code, the site becomes <c>jmp *entry</c>, an
/// entry of a trap table mapped in this address space whose contents the platform supplies. Nothing here trusts
/// the app's bytes: they only decide whether to rewrite a site the app could rewrite itself.
/// </summary>
/// <remarks>Lock order: _patchMu &gt; _mu (the copies and the table's mmap take _mu). Fork takes _patchMu too, so
/// a child never copies a half-written patch.</remarks>
internal sealed partial class MemoryManager
{
    /// <summary>The trap table's name in /proc/PID/maps; the app cannot give a mapping this name.</summary>
    public const string SyscallTableName = "[moat-syscalls]";

    private const int SiteLength = 7;
    private const int PatchedOpcodeByte = 5;
    private const int MissCacheSize = 64;

    private readonly Lock _patchMu = new();

    // Protected by _patchMu: entries used, whether the table is mapped, and whether this address space is done
    // patching (the table could not be mapped, is full, or the app replaced it; also read without the lock,
    // to skip the lock once it is set).
    private int _patchEntries;
    private bool _patchTableMapped;
    private bool _patchOff;

    // Sites that did not match, so that a non-patchable site that traps often is read once. Read and written
    // without a lock: a lost or stale slot only costs one more look at the site's bytes.
    private ulong[]? _patchMisses;

    /// <summary>
    /// After a syscall <paramref name="nr"/> trapped with return address <paramref name="ret"/>: rewrites the
    /// site if its bytes are exactly <c>mov $nr,%eax; syscall</c> in code only this address space sees.
    /// </summary>
    public void TryPatchSyscallSite(ISyscallPatching platform, ulong ret, ulong nr)
    {
        ulong site = ret - SiteLength;
        ulong[] misses = _patchMisses ??= new ulong[MissCacheSize];
        int slot = (int)((site ^ (site >> 6)) & (MissCacheSize - 1));
        if (Volatile.Read(ref _patchOff) || Volatile.Read(ref misses[slot]) == site || ret < SiteLength || nr > uint.MaxValue)
        {
            return;
        }

        lock (_patchMu)
        {
            if (!_patchOff && !PatchSiteLocked(platform, site, (uint)nr))
            {
                Volatile.Write(ref misses[slot], site);
            }
        }
    }

    // Returns false when the site does not match (remembered as a miss).
    // Preconditions: _patchMu is held.
    private bool PatchSiteLocked(ISyscallPatching platform, ulong site, uint nr)
    {
        Span<byte> code = stackalloc byte[SiteLength];
        if (CopyIn(site, code) < 0)
        {
            return false;
        }

        if (code[0] == 0xFF && code[1] == 0x24 && code[2] == 0x25)
        {
            return true; // another thread patched it meanwhile
        }

        if (code[0] != 0xB8 || code[5] != 0x0F || code[6] != 0x05 || BinaryPrimitives.ReadUInt32LittleEndian(code[1..]) != nr ||
            (site < platform.TableEnd && site + SiteLength > platform.TableStart) || !IsPatchableCode(site, site + SiteLength))
        {
            return false;
        }

        if (!_patchTableMapped)
        {
            long r = MmapAnonymous(platform.TableStart, platform.TableEnd - platform.TableStart, Mman.PROT_READ | Mman.PROT_EXEC,
                Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED_NOREPLACE, SyscallTableName);
            if (r < 0)
            {
                _patchOff = true; // the app has something there: this address space is not patched
                return true;
            }

            _patchTableMapped = true;
        }

        ulong entry = platform.TableStart + ((ulong)_patchEntries * (ulong)platform.EntrySize);
        if (entry + (ulong)platform.EntrySize > platform.TableEnd || !IsSyscallTable(entry, entry + (ulong)platform.EntrySize))
        {
            _patchOff = true; // full, or the app unmapped or replaced the table
            return true;
        }

        Span<byte> bytes = stackalloc byte[platform.EntrySize];
        platform.BuildEntry(bytes, entry, site + SiteLength, nr);
        if (CopyOut(entry, bytes, AccessType.Force) < 0)
        {
            _patchOff = true;
            return true;
        }

        _patchEntries++;

        // jmp *entry: ff 24 25 <entry as a 32-bit absolute address>. Written in three steps so that a thread
        // running the site meanwhile executes either the old mov then the old syscall, or the invalid byte that
        // the entry's address puts at byte 5 (SIGILL, resumed by PatchedSiteFault), or the whole jump.
        Span<byte> jump = [0xFF, 0x24, 0x25, 0, 0, 0, 0];
        BinaryPrimitives.WriteUInt32LittleEndian(jump[3..], (uint)entry);
        if (CopyOut(site + PatchedOpcodeByte, jump.Slice(PatchedOpcodeByte, 1), AccessType.Force) < 0 ||
            CopyOut(site + 1, jump[1..], AccessType.Force) < 0 ||
            CopyOut(site, jump[..1], AccessType.Force) < 0)
        {
            _patchOff = true;
        }

        return true;
    }

    /// <summary>
    /// A SIGILL at <paramref name="rip"/>: whether it is byte 5 of a site patched here (a thread that ran the old
    /// mov while the site was rewritten, or a syscall the Sentry restarts by moving rip back to it), and if so the
    /// site's address.
    /// </summary>
    public bool IsPatchedSiteFault(ISyscallPatching platform, ulong rip, out ulong site)
    {
        site = rip - PatchedOpcodeByte;
        lock (_patchMu)
        {
            if (!_patchTableMapped || rip < PatchedOpcodeByte)
            {
                return false;
            }

            Span<byte> code = stackalloc byte[SiteLength];
            if (CopyIn(site, code) < 0 || code[0] != 0xFF || code[1] != 0x24 || code[2] != 0x25)
            {
                return false;
            }

            ulong entry = BinaryPrimitives.ReadUInt32LittleEndian(code[3..]);
            ulong used = platform.TableStart + ((ulong)_patchEntries * (ulong)platform.EntrySize);
            return entry >= platform.TableStart && entry < used && (entry - platform.TableStart) % (ulong)platform.EntrySize == 0;
        }
    }

    // Private, executable, not writable, one mapping, not the table: code no other process or file sees written.
    private bool IsPatchableCode(ulong start, ulong end)
    {
        lock (_mu)
        {
            int i = _vmas.IndexOf(start);
            if (i < 0)
            {
                return false;
            }

            Vma v = _vmas[i];
            return v.End >= end && !v.Shared && (v.Prot & Mman.PROT_EXEC) != 0 && (v.Prot & Mman.PROT_WRITE) == 0 && v.Name != SyscallTableName;
        }
    }

    private bool IsSyscallTable(ulong start, ulong end)
    {
        lock (_mu)
        {
            int i = _vmas.IndexOf(start);
            return i >= 0 && _vmas[i].End >= end && !_vmas[i].Shared && _vmas[i].Name == SyscallTableName;
        }
    }

    // The child of a fork has the parent's table and patched pages (copied with its private memory).
    // Preconditions: _patchMu is held.
    private void CopyPatchStateLocked(MemoryManager child)
    {
        child._patchEntries = _patchEntries;
        child._patchTableMapped = _patchTableMapped;
        child._patchOff = _patchOff;
    }
}
