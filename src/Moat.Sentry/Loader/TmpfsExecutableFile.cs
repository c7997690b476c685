using System;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Loader;

/// <summary>An executable stored in a Sentry tmpfs.</summary>
internal sealed unsafe class TmpfsExecutableFile : IExecutableFile, IDisposable
{
    private readonly TmpfsRegular _file;

    public TmpfsExecutableFile(TmpfsRegular file, string path)
    {
        _file = file;
        Path = path;
        lock (file.Fs.Mu)
        {
            file.OpenCount++;
        }
    }

    public string Path { get; }

    public Mm.MappedFileId Id => new(_file.Fs.Device, _file.Ino);

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

    public void Dispose()
    {
        lock (_file.Fs.Mu)
        {
            _file.OpenCount--;
            if (_file.OpenCount == 0 && _file.Nlink == 0)
            {
                _file.ReleaseData();
            }
        }
    }
}
