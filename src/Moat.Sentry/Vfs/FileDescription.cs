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

    // What mappings of this file show and hold (made at its first mmap).
    private Mm.MappedFileId? _mapped;

    public void IncRef() => Interlocked.Increment(ref _refs);

    /// <summary>
    /// What a mapping of this file shows in /proc/PID/maps (<paramref name="dev"/>, <paramref name="ino"/>) and the
    /// hold it keeps on this description, as a VMA's vm_file does: the description (its flock locks, its host
    /// fd) lives while any mapping does, even after the last fd is closed.
    /// </summary>
    public Mm.MappedFileId MappedFile(ulong dev, ulong ino)
    {
        Mm.MappedFileId? m = Volatile.Read(ref _mapped);
        if (m != null)
        {
            return m;
        }

        var made = new Mm.MappedFileId(dev, ino, new MappingHold(this));
        return Interlocked.CompareExchange(ref _mapped, made, null) ?? made;
    }

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

    /// <summary>
    /// Implements read(2), readv(2), pread64(2), preadv(2) and the reads of splice, sendfile and the loader: fills
    /// <paramref name="dst"/> from <paramref name="offset"/>, or from the file offset (advancing it) when it is
    /// -1. Only a <see cref="Positional"/> file is given an offset of 0 or more by read(2)'s family (the others
    /// answer ESPIPE before the call); splice's may reach any file, which then ignores it. Returns the bytes read
    /// or -errno; a fault after some bytes returns the count so far.
    /// </summary>
    public virtual long Read(Task t, in IoSequence dst, long offset) => -Errno.EINVAL.Value;

    /// <summary>
    /// Implements write(2) and its positional, vectored and splice forms, like <see cref="Read"/>: O_APPEND
    /// writes at the end even at an offset (as pwrite(2) does), unless <paramref name="flags"/> says
    /// <see cref="WriteFlags.NoAppend"/> (pwritev2's RWF_NOAPPEND). Returns the bytes written or -errno.
    /// </summary>
    public virtual long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None) => -Errno.EINVAL.Value;

    /// <summary>Whether pread/pwrite work here (Linux's FMODE_PREAD/FMODE_PWRITE); pipes, sockets and ttys answer ESPIPE.</summary>
    public virtual bool Positional => false;

    /// <summary>Whether splice(2) and sendfile(2) may read this file (Linux's f_op->splice_read); EINVAL if not.</summary>
    public virtual bool CanSpliceRead => false;

    /// <summary>Whether splice(2) and sendfile(2) may write this file (Linux's f_op->splice_write); EINVAL if not.</summary>
    public virtual bool CanSpliceWrite => false;

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
