using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Aio;

/// <summary>
/// The sandbox-wide count of AIO requests io_setup reserved (/proc/sys/fs/aio-nr) against its limit
/// (aio-max-nr, Linux's default; read-only, as /proc/sys is in a container). <see cref="_mu"/> is a leaf.
/// </summary>
internal sealed class AioAccounting
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private ulong _nr;

    /// <summary>aio-max-nr.</summary>
    public ulong MaxNr => AioConst.DefaultAioMaxNr;

    /// <summary>aio-nr: the sum of the nr_events of every live context.</summary>
    public ulong Nr
    {
        get
        {
            lock (_mu)
            {
                return _nr;
            }
        }
    }

    /// <summary>Counts a new context's requests; false (EAGAIN) when the sum would pass aio-max-nr.</summary>
    public bool TryAdd(uint n)
    {
        lock (_mu)
        {
            if (_nr + n > MaxNr || _nr + n < _nr)
            {
                return false;
            }

            _nr += n;
            return true;
        }
    }

    /// <summary>A context died.</summary>
    public void Sub(uint n)
    {
        lock (_mu)
        {
            _nr = n > _nr ? 0 : _nr - n;
        }
    }
}
