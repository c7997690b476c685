using System.Buffers;
using System.Threading;

namespace Moat.Sentry.Vfs;

/// <summary>Credentials carried by a unix socket message (SCM_CREDENTIALS, SO_PEERCRED): pid, uid, gid.</summary>
internal readonly record struct UnixCredentials(int Pid, uint Uid, uint Gid)
{
    /// <summary>What an unconnected socket reports for SO_PEERCRED: no pid, ids of -1.</summary>
    public static readonly UnixCredentials None = new(0, uint.MaxValue, uint.MaxValue);
}

/// <summary>
/// One message in a unix socket's receive queue: its bytes, the files and credentials sent with it, and
/// the sending socket, whose send budget it is charged to until it is consumed or dropped.
/// </summary>
internal sealed class UnixSegment
{
    // Linux charges each message its buffer overhead as well as its bytes; a rough equivalent.
    private const int Overhead = 576;

    /// <param name="data">A buffer from <see cref="ArrayPool{T}.Shared"/> holding <paramref name="count"/> bytes; the segment returns it.</param>
    public UnixSegment(byte[] data, int count, UnixSocket sender, UnixCredentials creds, FileDescription[]? rights)
    {
        Data = data;
        Count = count;
        Sender = sender;
        Creds = creds;
        Rights = rights;
        Charge = count + Overhead;
        Interlocked.Add(ref sender.SendBytesInFlight, Charge);
    }

    public byte[] Data { get; }

    /// <summary>The message's size in bytes (Data may be longer).</summary>
    public int Count { get; }

    /// <summary>Bytes already read from the front (stream sockets read messages in parts).</summary>
    public int Offset { get; set; }

    public int Length => Count - Offset;

    public UnixSocket Sender { get; }

    public UnixCredentials Creds { get; }

    /// <summary>Files in flight (SCM_RIGHTS); each holds a reference until it is received or dropped.</summary>
    public FileDescription[]? Rights { get; private set; }

    private int Charge { get; }

    /// <summary>Hands the in-flight files to the receiver, who now owns their references.</summary>
    public FileDescription[]? TakeRights()
    {
        FileDescription[]? r = Rights;
        Rights = null;
        return r;
    }

    /// <summary>Called once the message left the queue: drops unreceived files and refunds the sender.</summary>
    public void Release()
    {
        FileDescription[]? r = TakeRights();
        if (r != null)
        {
            foreach (FileDescription f in r)
            {
                f.DecRef();
            }
        }

        ArrayPool<byte>.Shared.Return(Data);
        long after = Interlocked.Add(ref Sender.SendBytesInFlight, -Charge);
        Sender.Refunded(after + Charge, after);
    }
}
