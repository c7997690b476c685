using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs;

/// <summary>
/// An open file description: what an fd refers to, shared by dup(2) and fork(2). Reference counted: each
/// fd-table slot holds one reference.
/// </summary>
internal abstract class FileDescription
{
    private int _refs = 1;

    /// <summary>The open flags (O_ACCMODE bits, O_APPEND, O_NONBLOCK, ...), as F_GETFL reports them.</summary>
    public int StatusFlags { get; protected set; }

    /// <summary>
    /// The sandbox path this file was opened by, when it has one; a rename through the sandbox moves it
    /// (<see cref="LiveNames"/>), as a dentry would.
    /// </summary>
    public string? Path { get; set; }

    /// <summary>Set when the name <see cref="Path"/> was unlinked through the sandbox: /proc shows it " (deleted)", and a directory's lookups fail.</summary>
    public bool Unlinked { get; set; }

    public void IncRef() => Interlocked.Increment(ref _refs);

    public void DecRef()
    {
        if (Interlocked.Decrement(ref _refs) == 0)
        {
            if (Inotify.Fsnotify.Active && Path != null)
            {
                Inotify.Fsnotify.Closed(this);
            }

            if (LockKey is FileKey key)
            {
                FileLocks.ReleaseDescription(this, key);
            }

            Release();
        }
    }

    /// <summary>The directory this file was opened in, when a watch existed at open time (for its close events).</summary>
    public Inotify.InodeKey? WatchParent { get; set; }

    /// <summary>Set once this description takes a flock or OFD lock, so its last close releases them.</summary>
    public FileKey? LockKey { get; set; }

    /// <summary>The credentials of the task that opened the file by path (f_cred): linkat by descriptor needs no privilege for them.</summary>
    public Credentials? OpenedBy { get; set; }

    /// <summary>
    /// The id of the mount the file was opened through (f_path.mnt), 0 for a file not opened by path: an open
    /// file keeps its mount busy, and a noexec mount refuses executable mappings of it.
    /// </summary>
    public int MountId { get; set; }

    /// <summary>Implements read(2) into app memory [addr, addr+count). Returns bytes read or -errno.</summary>
    public virtual long Read(Task t, ulong addr, ulong count) => -Errno.EINVAL.Value;

    /// <summary>Implements write(2) from app memory [addr, addr+count). Returns bytes written or -errno.</summary>
    public virtual long Write(Task t, ulong addr, ulong count) => -Errno.EINVAL.Value;

    /// <summary>Implements pread64(2). Returns bytes read or -errno.</summary>
    public virtual long PRead(Task t, ulong addr, ulong count, long offset) => -Errno.ESPIPE.Value;

    /// <summary>Implements pwrite64(2). Returns bytes written or -errno.</summary>
    public virtual long PWrite(Task t, ulong addr, ulong count, long offset) => -Errno.ESPIPE.Value;

    /// <summary>Whether pread/pwrite work here (Linux's FMODE_PREAD/FMODE_PWRITE); pipes, sockets and ttys answer ESPIPE.</summary>
    public virtual bool Positional => false;

    /// <summary>
    /// Reads into a Sentry buffer, for sendfile and splice: at <paramref name="offset"/>, or at the file
    /// offset (advancing it) when it is -1. Returns bytes read or -errno; EINVAL where splice can't read.
    /// </summary>
    public virtual long ReadBuffer(Task t, System.Span<byte> dst, long offset) => -Errno.EINVAL.Value;

    /// <summary>Writes from a Sentry buffer, like <see cref="ReadBuffer"/>.</summary>
    public virtual long WriteBuffer(Task t, System.ReadOnlySpan<byte> src, long offset) => -Errno.EINVAL.Value;

    /// <summary>Implements fstat(2).</summary>
    public abstract long Stat(out Stat st);

    /// <summary>Implements ioctl(2). Returns the result or -errno.</summary>
    public virtual long Ioctl(Task t, uint request, ulong arg) => -Errno.ENOTTY.Value;

    /// <summary>Implements lseek(2).</summary>
    public virtual long Seek(long offset, int whence) => -Errno.ESPIPE.Value;

    /// <summary>
    /// The poll(2) events that hold now (POLLIN, POLLOUT, POLLERR, POLLHUP, ...), for the interest
    /// <paramref name="events"/>. The default is a file that is always ready, as regular files are.
    /// </summary>
    public virtual int Readiness(int events) => events & (PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLRDNORM | PollEvents.POLLWRNORM);

    /// <summary>
    /// Notified whenever <see cref="Readiness"/> may have changed; null when readiness must be polled
    /// (a host fd whose state only the host knows).
    /// </summary>
    public virtual WaitQueue? ReadinessQueue => ReadyQueue;

    /// <summary>Whether readiness comes from the host and must be re-checked periodically while waiting.</summary>
    public virtual bool PolledFromHost => false;

    private static readonly WaitQueue ReadyQueue = new();

    private FileAsync? _async;

    /// <summary>Signal-driven I/O state (F_SETOWN, F_SETSIG, the fd of O_ASYNC), made on first use.</summary>
    public FileAsync Async
    {
        get
        {
            FileAsync? a = _async;
            if (a != null)
            {
                return a;
            }

            Interlocked.CompareExchange(ref _async, new FileAsync(), null);
            return _async!;
        }
    }

    /// <summary>
    /// Linux's f_op->fasync: turns signal-driven I/O (O_ASYNC) on or off through <paramref name="fd"/> and keeps
    /// the flag in <see cref="StatusFlags"/>. False where the file has no fasync (FIOASYNC then answers ENOTTY).
    /// </summary>
    public virtual bool SetAsync(int fd, bool on) => false;

    /// <summary>Sets or clears O_ASYNC in <see cref="StatusFlags"/>, for <see cref="SetAsync"/>.</summary>
    protected void SetAsyncFlag(bool on) =>
        StatusFlags = on ? StatusFlags | Moat.Abi.OpenFlags.O_ASYNC : StatusFlags & ~Moat.Abi.OpenFlags.O_ASYNC;

    /// <summary>Implements F_SETFL for the flags Linux lets it change. Returns 0 or -errno.</summary>
    public virtual long SetStatusFlags(int flags)
    {
        // O_ASYNC is not here: only a file's fasync sets it (SetAsync), as Linux's SETFL_MASK leaves it out.
        const int Settable = Moat.Abi.OpenFlags.O_APPEND | Moat.Abi.OpenFlags.O_NONBLOCK | Moat.Abi.OpenFlags.O_DIRECT | Moat.Abi.OpenFlags.O_NOATIME;
        StatusFlags = (StatusFlags & ~Settable) | (flags & Settable);
        return 0;
    }

    /// <summary>
    /// Called for every fd of this description that <paramref name="t"/> (the task closing it, if known) closes,
    /// as Linux's f_op->flush.
    /// </summary>
    public virtual void Flush(Task? t)
    {
    }

    /// <summary>Called when the last reference goes.</summary>
    protected virtual void Release()
    {
    }
}
