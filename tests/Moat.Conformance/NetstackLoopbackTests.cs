using System;
using System.Collections.Generic;
using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// The loopback of <c>--network=none</c> served by the Sentry's netstack (MOAT_NETSTACK=1) instead of the
/// LoopbackStack: the socket programs that already match Linux there must keep matching, and issue 18's
/// python client that sendall()s before reading must not deadlock. (tcp_loopback, udp_loopback and
/// inet_opts still differ on the netstack: dual-stack IPv6, TCP_CORK, TCP_DEFER_ACCEPT, timestamps;
/// docs/netstack.md lists them.)
/// </summary>
[Collection(CProgramsCollection.Name)]
public sealed class NetstackLoopbackTests
{
    private static readonly Dictionary<string, string> s_env = new() { ["MOAT_NETSTACK"] = "1" };

    private readonly CProgramsFixture _programs;

    public NetstackLoopbackTests(CProgramsFixture programs)
    {
        _programs = programs;
    }

    [Theory]
    [InlineData("tcp_bulk")]
    [InlineData("poll")]
    public void Program_OnTheNetstack_MatchesNative(string name)
    {
        string dir = _programs.Dir("static");
        RunResult native = ProcessRunner.Run(Path.Combine(dir, name), [], dir, s_env);
        RunResult moat = MoatCli.Do([$"./{name}"], dir, s_env);
        Assert.True(native.ExitCode == moat.ExitCode, $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void PythonSendallBeforeReading_DoesNotDeadlock()
    {
        const string script =
            "import socket, threading\n" +
            "def serve(l):\n" +
            "    c, _ = l.accept()\n" +
            "    while True:\n" +
            "        b = c.recv(4096)\n" +
            "        if not b: break\n" +
            "        c.sendall(b)\n" +
            "    c.close()\n" +
            "for size in (512 * 1024, 8 * 1024 * 1024):\n" +
            "    l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)\n" +
            "    t = threading.Thread(target=serve, args=(l,)); t.start()\n" +
            "    c = socket.create_connection(l.getsockname())\n" +
            "    data = bytes(range(256)) * (size // 256)\n" +
            "    c.sendall(data); c.shutdown(socket.SHUT_WR)\n" +
            "    got = bytearray()\n" +
            "    while True:\n" +
            "        b = c.recv(65536)\n" +
            "        if not b: break\n" +
            "        got += b\n" +
            "    t.join(); c.close(); l.close()\n" +
            "    print(size, got == data)\n";
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", script], HostScratch.Root, s_env);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("524288 True\n8388608 True\n", r.StdoutText);
    }
}
