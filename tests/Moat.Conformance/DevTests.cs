using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>/dev is the Sentry's own: only its devices (its ptys too), /dev/shm and the links into /proc; no host device is named or reached.</summary>
public sealed class DevTests
{
    [Fact]
    public void Dev_ListsOnlyTheSentrysDevices()
    {
        RunResult r = MoatCli.Do(["/bin/busybox", "ls", "/dev"], HostScratch.Root);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("fd\nfull\nmqueue\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n", r.StdoutText);
    }

    [Fact]
    public void Dev_HostDevicesAreAbsent_AndWritesStayInside()
    {
        const string Script =
            "test -e /dev/vda || echo no vda; test -e /dev/kmsg || echo no kmsg; test -e /dev/console || echo no console; " +
            "cat /dev/tty 2>/dev/null || echo tty ENXIO; echo hi > /dev/stdout; mkdir /dev/mine && echo made; " +
            "echo x > /dev/shm/f && cat /dev/shm/f; rm /dev/null && test -e /dev/null || echo null removed";
        RunResult r = MoatCli.Do(["/bin/busybox", "sh", "-c", Script], HostScratch.Root);
        Assert.Equal("no vda\nno kmsg\nno console\ntty ENXIO\nhi\nmade\nx\nnull removed\n", r.StdoutText);
        Assert.True(System.IO.File.Exists("/dev/null"));
        Assert.False(System.IO.Directory.Exists("/dev/mine"));
    }
}
