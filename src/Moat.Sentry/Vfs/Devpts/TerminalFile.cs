using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>
/// An open end of a pty: the master (opened through ptmx) or the replica (/dev/pts/N or /dev/tty). fstat
/// reports the node it was opened through, as Linux reports the device's inode.
/// </summary>
internal sealed class TerminalFile : FileDescription
{
    private readonly Tmpfs.TmpfsDeviceNode _node;

    public TerminalFile(Terminal terminal, bool master, Tmpfs.TmpfsDeviceNode node, int flags)
    {
        Terminal = terminal;
        IsMaster = master;
        _node = node;
        StatusFlags = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK | OpenFlags.O_APPEND)) | OpenFlags.O_LARGEFILE;
    }

    public Terminal Terminal { get; }

    public bool IsMaster { get; }

    private bool NonBlocking => (StatusFlags & OpenFlags.O_NONBLOCK) != 0;

    public override long Read(Task t, in IoSequence dst, long offset) =>
        IsMaster ? Terminal.MasterRead(t, dst, NonBlocking) : Terminal.ReplicaRead(t, dst, NonBlocking);

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) =>
        IsMaster ? Terminal.MasterWrite(t, src, NonBlocking) : Terminal.ReplicaWrite(t, src, NonBlocking);

    public override long Ioctl(Task t, uint request, ulong arg) => Terminal.Ioctl(t, request, arg, IsMaster);

    public override int Readiness(int events) =>
        (IsMaster ? Terminal.MasterReadiness() : Terminal.ReplicaReadiness()) & (events | PollEvents.POLLERR | PollEvents.POLLHUP);

    public override WaitQueue? ReadinessQueue => Terminal.Events;

    public override long Stat(out Stat st)
    {
        lock (_node.Fs.Mu)
        {
            st = _node.ToStat();
        }

        return 0;
    }

    protected override void Release()
    {
        if (IsMaster)
        {
            Terminal.HangUp();
            return;
        }

        lock (Terminal.Mu)
        {
            Terminal.ReplicaOpens--;
        }

        Terminal.Changed();
    }
}
