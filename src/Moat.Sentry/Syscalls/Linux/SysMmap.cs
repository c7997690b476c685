using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;
using Moat.Sentry.Vfs.HostCache;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>mmap(2), munmap(2), mprotect(2), brk(2), madvise(2).</summary>
internal static unsafe class SysMmap
{
    /// <summary>Implements mmap(2), in Linux's order of checks.</summary>
    public static long Mmap(Task t, in SyscallArgs a)
    {
        ulong addr = a.Pointer(0);
        ulong length = a.SizeT(1);
        int prot = a.Int(2);
        int flags = a.Int(3);
        int fd = a.Int(4);
        ulong offset = a[5];

        if ((offset & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        FileDescription? file = null;
        if ((flags & Mman.MAP_ANONYMOUS) == 0)
        {
            file = t.Fds.Get(fd);
            if (file == null)
            {
                return -Errno.EBADF.Value;
            }
        }

        try
        {
            if (length == 0)
            {
                return -Errno.EINVAL.Value;
            }

            int type = flags & Mman.MAP_TYPE;
            if (type != Mman.MAP_PRIVATE && type != Mman.MAP_SHARED && type != Mman.MAP_SHARED_VALIDATE)
            {
                return -Errno.EINVAL.Value;
            }

            if (MemoryManager.PageUp(length) == 0)
            {
                return -Errno.ENOMEM.Value;
            }

            if (offset + MemoryManager.PageUp(length) < offset)
            {
                return -Errno.EOVERFLOW.Value;
            }

            // MAP_LOCKED and mlockall(MCL_FUTURE) lock the new mapping: can_do_mlock, then mlock_future_ok.
            bool mapLocked = (flags & Mman.MAP_LOCKED) != 0;
            if (mapLocked || t.MM.LocksFuture)
            {
                ulong limit = t.Group.Limit(RlimitResource.RLIMIT_MEMLOCK).rlim_cur;
                bool unlimited = t.Credentials.HasCapability(Credentials.CAP_IPC_LOCK);
                if (mapLocked && limit == 0 && !unlimited)
                {
                    return -Errno.EPERM.Value;
                }

                if (!unlimited && t.MM.LockedBytes + MemoryManager.PageUp(length) > MemoryManager.PageDown(limit))
                {
                    return -Errno.EAGAIN.Value;
                }
            }

            bool noExec = file != null && OnNoExecMount(t, file);
            if (noExec && (prot & Mman.PROT_EXEC) != 0 && !AccessRefused(file!, prot, flags))
            {
                return -Errno.EPERM.Value; // after the access checks, as do_mmap orders them
            }

            long r = file == null ? t.MM.MmapAnonymous(addr, length, prot, flags) : MmapFile(t, file, addr, length, prot, flags, (long)offset);
            if (r >= 0 && noExec)
            {
                t.MM.DropMaxProt((ulong)r, (ulong)r + MemoryManager.PageUp(length), Mman.PROT_EXEC);
            }

            if (r >= 0 && mapLocked)
            {
                t.MM.SetLocked((ulong)r, MemoryManager.PageUp(length), locked: true, populate: false, 0, unlimited: true);
            }

            if (r >= 0 && (mapLocked || t.MM.LocksFuture || (flags & (Mman.MAP_POPULATE | Mman.MAP_NONBLOCK)) == Mman.MAP_POPULATE))
            {
                // do_mmap's populate: a locked mapping, or MAP_POPULATE without MAP_NONBLOCK, gets its memory now.
                t.MM.Prefault((ulong)r, (ulong)r + MemoryManager.PageUp(length));
            }

            return r;
        }
        finally
        {
            file?.DecRef();
        }
    }

    // Whether the file lies on a mount with noexec: it is never mapped executable.
    private static bool OnNoExecMount(Task t, FileDescription file) =>
        file.MountId != 0 && t.Group.Mounts.ById(file.MountId) is { } m && (m.Flags & Vfs.Mounts.MountFlags.NoExec) != 0;

    // do_mmap's access checks on the file's open mode: a write-only file, or a read-only one mapped shared and writable.
    private static bool AccessRefused(FileDescription file, int prot, int flags)
    {
        int mode = file.StatusFlags & OpenFlags.O_ACCMODE;
        return mode == OpenFlags.O_WRONLY || ((flags & Mman.MAP_TYPE) != Mman.MAP_PRIVATE && (prot & Mman.PROT_WRITE) != 0 && mode == OpenFlags.O_RDONLY);
    }

    // A file mapping is a private copy of the file's bytes: exact for MAP_PRIVATE, and for MAP_SHARED
    // as long as nobody writes the file while it is mapped.
    private static long MmapFile(Task t, FileDescription file, ulong addr, ulong length, int prot, int flags, long offset)
    {
        if ((file.StatusFlags & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY && file is Vfs.Tmpfs.TmpfsFile or HostFileDescription)
        {
            return -Errno.EACCES.Value; // every file mapping needs a readable file
        }

        if (file is Vfs.Tmpfs.TmpfsFile tf)
        {
            return MmapTmpfs(t, tf, addr, length, prot, flags, offset);
        }

        if (file is not HostFileDescription host || file.Stat(out Stat st) < 0 || (st.st_mode & Stat.S_IFMT) != Stat.S_IFREG)
        {
            return -Errno.ENODEV.Value;
        }

        int mode = file.StatusFlags & OpenFlags.O_ACCMODE;
        if (mode == OpenFlags.O_WRONLY)
        {
            return -Errno.EACCES.Value;
        }

        bool shared = (flags & Mman.MAP_TYPE) != Mman.MAP_PRIVATE;
        if (shared && (prot & Mman.PROT_WRITE) != 0)
        {
            // Writable shared file mappings need the page cache of the file systems work.
            return mode == OpenFlags.O_RDONLY ? -Errno.EACCES.Value : -Errno.ENODEV.Value;
        }

        long at = t.MM.MmapAnonymous(addr, length, prot, flags, file.Path, file.MappedFile(st.st_dev, st.st_ino), (ulong)offset);
        if (at < 0)
        {
            return at;
        }

        ulong want = (ulong)Math.Max(0, Math.Min((long)length, st.st_size - offset));
        t.MM.MarkBeyondEof((ulong)at + MemoryManager.PageUp(want), (ulong)at + MemoryManager.PageUp(length));
        if (!shared && want > 0 && MapFromPageCache(t, host, st, (ulong)at, want, offset))
        {
            return ReadsFileWhenLacking(t, host, (ulong)at, length, offset);
        }

        ulong done = 0;
        while (done < want)
        {
            long n = t.MM.Translate((ulong)at + done, want - done, AccessType.Force, out byte* p, out MemoryManager.Pinned pin);
            if (n < 0)
            {
                // No memory for the copy: the mapping must not stay with zero pages where the file has bytes.
                t.MM.Munmap((ulong)at, length);
                return n;
            }

            // Read straight from the host file (a regular file: the read does not sleep for long) into the
            // MemoryFile pages.
            long got;
            using (pin)
            {
                got = Moat.Host.HostFile.PRead(host.HostFd, p, (ulong)n, offset + (long)done);
            }

            if (got < 0)
            {
                t.MM.Munmap((ulong)at, length);
                return got; // the host's read error (EIO ...), as a failed read of the page cache answers
            }

            if (got == 0)
            {
                break; // the file shrank since its size was read: the rest reads as zeros, as past EOF
            }

            done += (ulong)got;
        }

        // The app maps a file to read it: map what was copied now rather than on one fault per range.
        t.MM.Populate((ulong)at, (ulong)at + MemoryManager.PageUp(done));
        return shared ? at : ReadsFileWhenLacking(t, host, (ulong)at, length, offset);
    }

    // Once a private mapping holds the file's pages, a page it lacks from then on (dropped by MADV_DONTNEED, past
    // the end when mapped) is read from the file at the fault, as Linux's filemap_fault reads it. (Marked after
    // the fill, which would otherwise read each page twice.)
    private static long ReadsFileWhenLacking(Task t, HostFileDescription host, ulong at, ulong length, long offset)
    {
        HostFilePages pages = HostFilePages.For(host, t.MM.MemoryFile);
        pages.AddMapper(t.MM);
        t.MM.MarkBeyondEof(at, at + MemoryManager.PageUp(length), pages, (ulong)offset);
        return (long)at;
    }

    // A private mapping of a host file the sandbox cannot write (the root's, a read-only volume's) shares the
    // page cache's copy of its pages, copy-on-write. False when the file is not cached (too large, writable
    // through the sandbox, the cache is off) or the cache could not serve it: the caller copies instead.
    private static bool MapFromPageCache(Task t, HostFileDescription host, in Stat st, ulong at, ulong want, long offset)
    {
        if (t.Kernel.HostPages is not { } cache || host.Volume is { ReadOnly: false } || st.st_size > Vfs.HostCache.HostPageCache.MaxFileSize)
        {
            return false;
        }

        if (!cache.MapPrivate(t.MM, host.HostFd, st, at, offset / (long)Mman.PageSize, (int)(MemoryManager.PageUp(want) / Mman.PageSize)))
        {
            return false;
        }

        // The app maps a file to read it: map the pages now rather than on one fault per range.
        t.MM.Populate(at, at + MemoryManager.PageUp(want));
        return true;
    }

    // A private tmpfs mapping maps the file's pages copy-on-write; a shared one maps them outright.
    private static long MmapTmpfs(Task t, Vfs.Tmpfs.TmpfsFile file, ulong addr, ulong length, int prot, int flags, long offset)
    {
        if ((file.Node is not Vfs.Tmpfs.TmpfsRegular reg))
        {
            return -Errno.ENODEV.Value;
        }

        if ((flags & Mman.MAP_TYPE) != Mman.MAP_PRIVATE)
        {
            return MmapTmpfsShared(t, file, reg, addr, length, prot, flags, offset);
        }

        long at = t.MM.MmapAnonymous(addr, length, prot, flags, file.Path, file.MappedFile(reg.Fs.Device, reg.Ino), (ulong)offset);
        if (at < 0)
        {
            return at;
        }

        // Pages come from the file at the fault, copy-on-write: the mapping shows the file until it writes a
        // page, and a truncate takes even its own copies past the new end away (SIGBUS there), as in Linux.
        lock (reg.Fs.Mu)
        {
            t.MM.MarkBeyondEof((ulong)at, (ulong)at + MemoryManager.PageUp(length), reg, (ulong)offset);
            reg.AddMapper(t.MM);
        }

        return at;
    }

    private static long MmapTmpfsShared(Task t, Vfs.Tmpfs.TmpfsFile file, Vfs.Tmpfs.TmpfsRegular reg, ulong addr, ulong length, int prot, int flags, long offset)
    {
        int mode = file.StatusFlags & OpenFlags.O_ACCMODE;
        if ((prot & Mman.PROT_WRITE) != 0)
        {
            if (mode != OpenFlags.O_RDWR)
            {
                return -Errno.EACCES.Value;
            }

            // A file sealed against writes refuses writable shared mappings, as in Linux.
            lock (reg.Fs.Mu)
            {
                if ((reg.Seals & (Vfs.Tmpfs.FileSeals.F_SEAL_WRITE | Vfs.Tmpfs.FileSeals.F_SEAL_FUTURE_WRITE)) != 0)
                {
                    return -Errno.EPERM.Value;
                }
            }
        }

        long at = t.MM.MmapAnonymous(addr, length, prot, flags, file.Path, file.MappedFile(reg.Fs.Device, reg.Ino), (ulong)offset);
        if (at < 0)
        {
            return at;
        }

        lock (reg.Fs.Mu)
        {
            ulong inFile = MemoryManager.PageUp((ulong)Math.Max(0, reg.Size - offset));
            ulong backed = Math.Min(MemoryManager.PageUp(length), inFile);

            // The whole mapping shows the file: a page it lacks (past the end, or dropped when the file shrank
            // or got a hole) faults through the file, never into anonymous memory.
            t.MM.MarkBeyondEof((ulong)at, (ulong)at + MemoryManager.PageUp(length), reg, (ulong)offset);
            reg.AddMapper(t.MM);
            if (backed == 0)
            {
                return at;
            }

            long[] pages = new long[backed / Mman.PageSize];
            long r = reg.BackPages(offset / (long)Mman.PageSize, pages);
            if (r >= 0)
            {
                r = t.MM.InstallSharedPages((ulong)at, pages);
            }

            if (r < 0)
            {
                t.MM.Munmap((ulong)at, length);
                return r;
            }
        }

        if (mode == OpenFlags.O_RDWR)
        {
            t.MM.MarkMayWrite((ulong)at, (ulong)at + MemoryManager.PageUp(length), reg);
        }

        return at;
    }

    /// <summary>Implements munmap(2).</summary>
    public static long Munmap(Task t, in SyscallArgs a) => t.MM.Munmap(a.Pointer(0), a.SizeT(1));

    /// <summary>Implements mprotect(2).</summary>
    public static long Mprotect(Task t, in SyscallArgs a) => t.MM.Mprotect(a.Pointer(0), a.SizeT(1), a.Int(2));

    /// <summary>Implements brk(2).</summary>
    public static long Brk(Task t, in SyscallArgs a) => (long)t.MM.Brk(a.Pointer(0));

    /// <summary>Implements mremap(2).</summary>
    public static long Mremap(Task t, in SyscallArgs a) => t.MM.Mremap(a.Pointer(0), a.SizeT(1), a.SizeT(2), a.Int(3), a.Pointer(4));

    /// <summary>Implements msync(2).</summary>
    public static long Msync(Task t, in SyscallArgs a) => t.MM.Msync(a.Pointer(0), a.SizeT(1), a.Int(2));

    /// <summary>Implements mincore(2).</summary>
    public static long Mincore(Task t, in SyscallArgs a)
    {
        long r = t.MM.Mincore(a.Pointer(0), a.SizeT(1), out byte[] vec);
        if (r < 0 || vec.Length == 0)
        {
            return r;
        }

        return t.MM.CopyOut(a.Pointer(2), vec) < 0 ? -Errno.EFAULT.Value : 0;
    }

    /// <summary>Implements madvise(2).</summary>
    public static long Madvise(Task t, in SyscallArgs a)
    {
        int advice = a.Int(2);
        bool known = advice is >= Mman.MADV_NORMAL and <= Mman.MADV_DONTNEED or >= Mman.MADV_FREE and <= Mman.MADV_COLLAPSE;
        if (!known)
        {
            return -Errno.EINVAL.Value;
        }

        long r = t.MM.Madvise(a.Pointer(0), a.SizeT(1), advice is Mman.MADV_DONTNEED or Mman.MADV_FREE or Mman.MADV_REMOVE);
        if (r == 0 && advice is Mman.MADV_POPULATE_READ or Mman.MADV_POPULATE_WRITE)
        {
            ulong start = a.Pointer(0);
            r = t.MM.PopulateAdvice(start, start + MemoryManager.PageUp(a.SizeT(1)), advice == Mman.MADV_POPULATE_WRITE);
        }

        return r;
    }
}
