using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>One end of a pipe, as an open file description.</summary>
internal sealed class PipeEnd : FileDescription
{
    private const int F_SETPIPE_SZ = 1031;
    private const int F_GETPIPE_SZ = 1032;
    private const uint FIONREAD = 0x541B;

    public PipeEnd(Pipe pipe, bool reader, int flags)
    {
        Pipe = pipe;
        IsReader = reader;
        StatusFlags = (reader ? OpenFlags.O_RDONLY : OpenFlags.O_WRONLY) | (flags & OpenFlags.O_NONBLOCK);
        pipe.Open(reader);
    }

    public Pipe Pipe { get; }

    public bool IsReader { get; }

    public override long Read(Task t, ulong addr, ulong count) => Pipe.Read(t, addr, count, (StatusFlags & OpenFlags.O_NONBLOCK) != 0);

    public override long Write(Task t, ulong addr, ulong count) => Pipe.Write(t, addr, count, (StatusFlags & OpenFlags.O_NONBLOCK) != 0);

    public override long Stat(out Stat st)
    {
        st = default;
        st.st_mode = Abi.Stat.S_IFIFO | 0x180; // 0600
        st.st_nlink = 1;
        st.st_ino = (ulong)Pipe.Inode;
        st.st_dev = 0xd; // pipefs
        st.st_blksize = 4096;
        return 0;
    }

    public override long Ioctl(Task t, uint request, ulong arg) =>
        request == FIONREAD ? t.MM.CopyOut(arg, Pipe.Available) : -Errno.ENOTTY.Value;

    public override int Readiness(int events) => Pipe.Readiness(IsReader) & (events | PollEvents.POLLERR | PollEvents.POLLHUP);

    public override WaitQueue? ReadinessQueue => Pipe.Events;

    /// <summary>F_GETPIPE_SZ and F_SETPIPE_SZ.</summary>
    public long PipeSize(int cmd, long arg) => cmd switch
    {
        F_GETPIPE_SZ => Pipe.Capacity,
        F_SETPIPE_SZ => Pipe.Resize(arg),
        _ => -Errno.EINVAL.Value,
    };

    /// <summary>Changes O_NONBLOCK (F_SETFL).</summary>
    public void SetNonBlocking(bool on) => StatusFlags = on ? StatusFlags | OpenFlags.O_NONBLOCK : StatusFlags & ~OpenFlags.O_NONBLOCK;

    protected override void Release() => Pipe.Close(IsReader);
}
