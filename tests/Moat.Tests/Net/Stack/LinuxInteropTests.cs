using System;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Net.Stack;

namespace Moat.Tests.Net.Stack;

/// <summary>Runs only where a TAP device and a network namespace can be made; says why otherwise.</summary>
public sealed class TapInteropFactAttribute : FactAttribute
{
    public TapInteropFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            Skip = "needs root (CAP_NET_ADMIN) to create a TAP device and a network namespace";
        }
        else if (!File.Exists("/dev/net/tun"))
        {
            Skip = "/dev/net/tun is missing (no TUN/TAP driver)";
        }
        else if (LinuxInterop.Find("ip") == null)
        {
            Skip = "iproute2's ip is not installed";
        }
        else if (LinuxInterop.Find("python3") == null || LinuxInterop.Find("busybox") == null)
        {
            Skip = "python3 and busybox (for ping) are needed on the Linux side";
        }
    }
}

/// <summary>Tools of the Linux side of the interop tests.</summary>
internal static class LinuxInterop
{
    public static string? Find(string name)
    {
        foreach (string dir in new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin" })
        {
            string p = Path.Combine(dir, name);
            if (File.Exists(p))
            {
                return p;
            }
        }
        return null;
    }

    public static (int Exit, string Out) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}

/// <summary>
/// Wakes a waiting test thread when an endpoint's readiness changes. Never disposed: the stack may still call
/// it for a segment that arrives after a failed test has left.
/// </summary>
internal sealed class ReadinessWaiter : IReadinessListener
{
    private readonly AutoResetEvent _event = new(false);

    public void OnReadinessChanged(int events) => _event.Set();

    /// <summary>Waits until <paramref name="ready"/> holds; a safety limit of a minute fails a hung test.</summary>
    public void WaitFor(Func<bool> ready, string what = "")
    {
        // ready() may consume (a receive): it is called once per wake-up and its answer kept.
        DateTime limit = DateTime.UtcNow.AddMinutes(1);
        bool ok;
        while (!(ok = ready()) && DateTime.UtcNow < limit)
        {
            _event.WaitOne(100);
        }
        Assert.True(ok, "the stack never became ready: " + what);
    }
}

/// <summary>
/// The stack against the real Linux kernel: a TAP device moved into a fresh network namespace, Linux
/// (10.77.0.1) on one side, the stack (10.77.0.2) on the other, its timers on the host clock.
/// </summary>
public sealed class LinuxInteropTests : IDisposable
{
    private static readonly Ip4Address StackAddr = Ip4Address.Parse("10.77.0.2");
    private const string LinuxAddr = "10.77.0.1";

    private readonly string _ns = "moat-nst-" + Environment.ProcessId;
    private readonly NetworkStack? _stack;
    private readonly TapLink? _tap;
    private readonly StackDriver? _driver;

    public LinuxInteropTests()
    {
        if (!Environment.IsPrivilegedProcess || !File.Exists("/dev/net/tun") || LinuxInterop.Find("ip") == null)
        {
            return; // the tests are skipped
        }
        string ip = LinuxInterop.Find("ip")!;
        string tapName = "mtap" + (Environment.ProcessId % 100000);
        _tap = TapLink.Create(tapName, new MacAddress(0x02_4d_6f_61_74_02), out Errno err);
        Assert.True(_tap != null, "TUNSETIFF: " + err);
        Assert.Equal(0, LinuxInterop.Run(ip, "netns", "add", _ns).Exit);
        Assert.Equal(0, LinuxInterop.Run(ip, "link", "set", tapName, "netns", _ns).Exit);
        LinuxInterop.Run(ip, "netns", "exec", _ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
        Assert.Equal(0, LinuxInterop.Run(ip, "-n", _ns, "addr", "add", LinuxAddr + "/24", "dev", tapName).Exit);
        Assert.Equal(0, LinuxInterop.Run(ip, "-n", _ns, "link", "set", tapName, "up").Exit);
        Assert.Equal(0, LinuxInterop.Run(ip, "-n", _ns, "link", "set", "lo", "up").Exit);
        _stack = new NetworkStack();
        _stack.AddNic(_tap!, StackAddr, 24);
        _driver = new StackDriver(_stack);
    }

    public void Dispose()
    {
        _driver?.Dispose();
        _tap?.Dispose();
        if (_stack != null)
        {
            LinuxInterop.Run(LinuxInterop.Find("ip")!, "netns", "del", _ns);
        }
    }

    private Process StartInNamespace(string script)
    {
        var psi = new ProcessStartInfo(LinuxInterop.Find("ip")!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "netns", "exec", _ns, LinuxInterop.Find("python3")!, "-c", script })
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    [TapInteropFact]
    public void LinuxPings_StackAnswers()
    {
        (int exit, string output) = LinuxInterop.Run(LinuxInterop.Find("ip")!, "netns", "exec", _ns,
            LinuxInterop.Find("busybox")!, "ping", "-c", "3", "-W", "5", StackAddr.ToString());
        Assert.True(exit == 0, output);
        Assert.Contains("3 packets received", output);
    }

    [TapInteropFact]
    public void LinuxConnects_StackEchoServerReturnsFourMiB()
    {
        TcpEndpoint listener = _stack!.CreateTcp();
        Assert.Equal(Errno.None, listener.Bind(Ip4Address.Any, 7000));
        Assert.Equal(Errno.None, listener.Listen(8));
        var waiter = new ReadinessWaiter();
        listener.Listener = waiter;
        const string client = """
import socket, os, threading
data = os.urandom(4 << 20)
s = socket.create_connection(('10.77.0.2', 7000), timeout=60)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send)
t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
t.join()
print('OK' if bytes(got) == data else 'BAD %d' % len(got))
""";
        using Process linux = StartInNamespace(client);
        TcpEndpoint? conn = null;
        waiter.WaitFor(() => listener.Accept(out conn) == Errno.None);
        conn!.Listener = waiter;
        var buf = new byte[65536];
        long echoed = 0;
        while (true)
        {
            int n = 0;
            Errno e = Errno.EAGAIN;
            waiter.WaitFor(() => (e = conn.Receive(buf, out n)) != Errno.EAGAIN);
            Assert.Equal(Errno.None, e);
            if (n == 0)
            {
                break;
            }
            for (int off = 0; off < n;)
            {
                int w = 0;
                waiter.WaitFor(() => conn.Send(buf.AsSpan(off, n - off), out w) != Errno.EAGAIN);
                Assert.True(w > 0);
                off += w;
            }
            echoed += n;
        }
        conn.Close();
        listener.Close();
        string output = linux.StandardOutput.ReadToEnd() + linux.StandardError.ReadToEnd();
        linux.WaitForExit();
        Assert.Equal(4 << 20, echoed);
        Assert.Equal("OK", output.Trim());
    }

    [TapInteropFact]
    public void StackConnects_LinuxListenerReceivesTwoMiB()
    {
        const string server = """
import socket, hashlib
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('10.77.0.1', 7001))
l.listen(1)
print('LISTENING', flush=True)
c, _ = l.accept()
h = hashlib.sha256()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
c.sendall(('%d %s' % (n, h.hexdigest())).encode())
c.close()
""";
        using Process linux = StartInNamespace(server);
        Assert.Equal("LISTENING", linux.StandardOutput.ReadLine());
        TcpEndpoint conn = _stack!.CreateTcp();
        var waiter = new ReadinessWaiter();
        conn.Listener = waiter;
        Assert.Equal(Errno.EINPROGRESS, conn.Connect(Ip4Address.Parse(LinuxAddr), 7001));
        waiter.WaitFor(() => conn.State != TcpState.SynSent);
        Assert.Equal(TcpState.Established, conn.State);
        var data = new byte[2 << 20];
        new Random(7).NextBytes(data);
        for (int off = 0; off < data.Length;)
        {
            int w = 0;
            waiter.WaitFor(() => conn.Send(data.AsSpan(off), out w) != Errno.EAGAIN);
            Assert.True(w > 0);
            off += w;
        }
        Assert.Equal(Errno.None, conn.Shutdown(read: false, write: true));
        var reply = new byte[256];
        int got = 0;
        while (true)
        {
            int n = 0;
            Errno e = Errno.EAGAIN;
            waiter.WaitFor(() => (e = conn.Receive(reply.AsSpan(got), out n)) != Errno.EAGAIN);
            Assert.Equal(Errno.None, e);
            if (n == 0)
            {
                break;
            }
            got += n;
        }
        string endState = $"state {conn.State} error {conn.TakeError()} rsts {_stack.Stats.TcpOutRsts} in {_stack.Stats.TcpInSegs}";
        conn.Close();
        string linuxErrors = linux.StandardError.ReadToEnd();
        linux.WaitForExit();
        string expected = data.Length + " " + Convert.ToHexStringLower(SHA256.HashData(data));
        Assert.True(expected == System.Text.Encoding.ASCII.GetString(reply, 0, got), "reply '"
            + System.Text.Encoding.ASCII.GetString(reply, 0, got) + "', " + endState + ", Linux side: " + linuxErrors);
    }
}
