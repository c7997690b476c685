using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace Moat.Bench.Running;

/// <summary>
/// The host side of the <c>download</c> workload: a TCP server on a free port that reads a decimal count of MiB
/// and a newline from each client, sends that many MiB of random bytes, and closes its side. One client at a
/// time (the trials run one by one), on a thread of the runner.
/// </summary>
public sealed class DownloadServer : IDisposable
{
    private const int MiB = 1 << 20;

    // A client that stops reading (a wedged trial) must not hold the server for ever.
    private static readonly TimeSpan IoTimeout = TimeSpan.FromMinutes(2);

    private readonly Socket _listener;
    private readonly Thread _thread;
    private readonly byte[] _block = new byte[MiB];
    private volatile bool _stopping;

    public DownloadServer(IPAddress address)
    {
        new Random(18).NextBytes(_block);
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address, 0));
        _listener.Listen(4);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _thread = new Thread(Serve) { IsBackground = true, Name = "bench-download-server" };
        _thread.Start();
    }

    public int Port { get; }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join(TimeSpan.FromSeconds(5));
        _listener.Dispose();
    }

    private void Serve()
    {
        while (!_stopping)
        {
            // Polled rather than a blocking Accept, so that Dispose ends the thread without closing under it.
            if (!_listener.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead))
            {
                continue;
            }

            using Socket c = _listener.Accept();
            try
            {
                c.ReceiveTimeout = c.SendTimeout = (int)IoTimeout.TotalMilliseconds;
                Send(c);
            }
            catch (SocketException)
            {
                // The client went away or stalled: its trial reports the failure.
            }
        }
    }

    private void Send(Socket c)
    {
        if (ReadCount(c) is not long mib)
        {
            return;
        }

        for (long i = 0; i < mib && !_stopping; i++)
        {
            for (int off = 0; off < MiB;)
            {
                int n = c.Send(_block, off, MiB - off, SocketFlags.None);
                off += n;
            }
        }

        // Our FIN, then wait for the client's close, so that every byte is read before the socket goes.
        c.Shutdown(SocketShutdown.Send);
        var sink = new byte[64];
        while (c.Receive(sink) > 0)
        {
        }
    }

    // "N\n": the MiB to send; null for anything else.
    private static long? ReadCount(Socket c)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < 20 && c.Receive(one) == 1)
        {
            if (one[0] == '\n')
            {
                return long.TryParse(line.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
            }

            line.Append((char)one[0]);
        }

        return null;
    }
}
