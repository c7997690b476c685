using System;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Loader;

/// <summary>An executable stored in a Sentry tmpfs.</summary>
internal sealed unsafe class TmpfsExecutableFile : IExecutableFile, IDisposable
{
    private readonly TmpfsRegular _file;

    // The open file the segments' mappings hold, as their vm_file: it keeps the file's pages alive while a
    // segment maps them, even after the last name goes (a program that removes itself), and /proc/PID/maps names it.
    private readonly TmpfsFile _description;

    public TmpfsExecutableFile(TmpfsRegular file, string path)
    {
        _file = file;
        Path = path;
        lock (file.Fs.Mu)
        {
            // Nameless, as the host executable's description: no fd shows it, and its close is no inotify event.
            _description = new TmpfsFile(file, Abi.OpenFlags.O_RDONLY | Abi.OpenFlags.O_LARGEFILE, path) { Path = null };
        }

        Id = _description.MappedFile(file.Fs.Device, file.Ino);
    }

    public string Path { get; }

    public Mm.MappedFileId Id { get; }

    public (uint Mode, uint Uid, uint Gid) Owner
    {
        get
        {
            lock (_file.Fs.Mu)
            {
                Abi.Stat st = _file.ToStat();
                return (st.st_mode, st.st_uid, st.st_gid);
            }
        }
    }

    public bool NoSuid { get; init; }

    public long Size
    {
        get
        {
            lock (_file.Fs.Mu)
            {
                return _file.Size;
            }
        }
    }

    public long ReadAt(long offset, byte* dst, ulong count)
    {
        lock (_file.Fs.Mu)
        {
            return _file.Read(offset, new Span<byte>(dst, (int)Math.Min(count, int.MaxValue)));
        }
    }

    /// <summary>
    /// Makes [start, end) of a segment, loaded from <paramref name="fileOffset"/>, read a page it lacks from
    /// now on (MADV_DONTNEED) from the file, copy-on-write, as a private mmap of the file does (and as Linux's
    /// segments are: file mappings of the executable); a truncate takes its pages past the new end away.
    /// </summary>
    public void ReadsFileWhenLacking(Mm.MemoryManager mm, ulong start, ulong end, ulong fileOffset)
    {
        lock (_file.Fs.Mu)
        {
            mm.MarkBeyondEof(start, end, _file, fileOffset);
            _file.AddMapper(mm);
        }
    }

    // The file's pages go with the description's last reference: this one, or the last segment mapping it.
    public void Dispose() => _description.DecRef();
}
