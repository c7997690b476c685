using System.Threading;
using Moat.Abi;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Kernel.Aio;

/// <summary>
/// An IOCB_CMD_POLL request (Linux's poll_iocb): one-shot, it completes with the ready events once its file
/// has any of them (POLLERR and POLLHUP always count), or with 0 when cancelled. It waits on the file's
/// readiness queue as an <see cref="IWaiter"/>: a notification hands the re-check to the thread pool, so
/// neither io_submit nor the notifier ever blocks; a file whose readiness only the host knows is re-checked
/// every few milliseconds. Holds a reference on its file and eventfd until it completes.
/// </summary>
internal sealed class AioPollRequest : IWaiter, IThreadPoolWorkItem
{
    private const int HostPollIntervalMs = 5;

    private readonly AioContext _ctx;
    private readonly FileDescription _file;
    private readonly EventFd? _eventFd;
    private readonly ulong _data;
    private readonly int _events;
    private readonly WaitQueue? _queue;
    private Timer? _timer;

    // 1 once the request completed (by readiness, cancellation or the context's death).
    private int _done;

    // 1 while a re-check is queued on the thread pool.
    private int _queued;

    /// <summary>Takes over the caller's references on <paramref name="file"/> and <paramref name="eventFd"/>.</summary>
    public AioPollRequest(AioContext ctx, FileDescription file, EventFd? eventFd, ulong obj, ulong data, int events)
    {
        _ctx = ctx;
        _file = file;
        _eventFd = eventFd;
        Obj = obj;
        _data = data;
        _events = events | PollEvents.POLLERR | PollEvents.POLLHUP;
        _queue = file.PolledFromHost ? null : file.ReadinessQueue;
    }

    /// <summary>The user address of the iocb (the io_event's obj, what io_cancel names).</summary>
    public ulong Obj { get; }

    /// <summary>
    /// Starts waiting: completes at once (before io_submit returns, as Linux) when the file is ready now,
    /// otherwise registers for its readiness.
    /// </summary>
    public void Start()
    {
        _ctx.AddActive(this);
        _queue?.Add(this);
        if (_queue == null)
        {
            _timer = new Timer(static s => ((AioPollRequest)s!).Recheck(first: false), this, HostPollIntervalMs, HostPollIntervalMs);
            if (Volatile.Read(ref _done) != 0)
            {
                _timer.Dispose(); // cancelled meanwhile
            }
        }

        Recheck(first: true);
    }

    /// <inheritdoc/>
    public void Notified()
    {
        if (Interlocked.Exchange(ref _queued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    /// <inheritdoc/>
    public void Execute()
    {
        Volatile.Write(ref _queued, 0);
        Recheck(first: false);
    }

    /// <summary>io_cancel or the context's death: completes with res 0. False if it had already completed.</summary>
    public bool Cancel() => Finish(0);

    // At submission the answer is the ready events asked for, as Linux's first vfs_poll; later it is what the
    // wake-up reported, which for pipes and sockets carries the RDNORM/WRNORM companions of IN and OUT.
    private void Recheck(bool first)
    {
        if (Volatile.Read(ref _done) != 0)
        {
            return;
        }

        int wanted = first ? _events : _events
            | ((_events & PollEvents.POLLIN) != 0 ? PollEvents.POLLRDNORM : 0)
            | ((_events & PollEvents.POLLOUT) != 0 ? PollEvents.POLLWRNORM : 0);
        int ready;
        try
        {
            ready = _file.Readiness(wanted) & wanted;
        }
        catch (System.Exception)
        {
            // A Sentry bug in a file's readiness must not end the thread pool (and the Sentry) with it.
            ready = PollEvents.POLLERR;
        }

        if ((ready & _events) != 0)
        {
            Finish(ready);
        }
    }

    private bool Finish(long res)
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return false;
        }

        _queue?.Remove(this);
        _timer?.Dispose();
        _ctx.RemoveActive(this);
        _ctx.Complete(Obj, _data, res, _eventFd);
        _file.DecRef();
        _eventFd?.DecRef();
        return true;
    }
}
