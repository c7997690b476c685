using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>
/// sethostname and setdomainname change the sandbox's UTS names (uname, gethostname, /proc/sys/kernel) and
/// never the host's; Linux's errors for a long name and a caller without CAP_SYS_ADMIN. (Not a native-compared
/// program: natively it would rename the machine.)
/// </summary>
public sealed class HostnameTests
{
    private const string Script =
        "import os, socket\n" +
        "socket.sethostname('inside-box')\n" +
        "print(socket.gethostname(), os.uname().nodename, open('/proc/sys/kernel/hostname').read().strip())\n" +
        "os.setdomainname('example.test') if hasattr(os, 'setdomainname') else None\n" +
        "for name in ('x' * 64, 'x' * 65):\n" +
        "    try:\n" +
        "        socket.sethostname(name); print(len(name), 'ok')\n" +
        "    except OSError as e:\n" +
        "        print(len(name), e.errno)\n" +
        "os.setuid(1000)\n" +
        "try:\n" +
        "    socket.sethostname('user')\n" +
        "except OSError as e:\n" +
        "    print('unprivileged', e.errno)\n";

    [Fact]
    public void Sethostname_RenamesTheSandboxOnly_WithLinuxErrors()
    {
        string hostBefore = File.ReadAllText("/proc/sys/kernel/hostname");
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", Script], HostScratch.Root);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("inside-box inside-box inside-box\n64 ok\n65 22\nunprivileged 1\n", r.StdoutText);
        Assert.Equal(hostBefore, File.ReadAllText("/proc/sys/kernel/hostname"));
    }

    [Fact]
    public void Hostname_OptionAndUname_Agree()
    {
        RunResult r = MoatCli.Do(["/usr/bin/python3", "-c", "import os; print(os.uname().nodename)"], HostScratch.Root, null, "--hostname", "given-name");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("given-name\n", r.StdoutText);
    }
}
