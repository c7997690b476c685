using System.Globalization;
using System.IO;
using Moat.Host;

namespace Moat.Tests.Host;

/// <summary>HostSpawn hands the child exactly the fds it names, even when a source is another pair's target.</summary>
public sealed class HostSpawnTests
{
    [Fact]
    public void Spawn_SwappedFds_ChildGetsEachAtItsTarget()
    {
        using SafeFdHandle x = HostFile.MemfdCreate("spawn-x", out long e1);
        using SafeFdHandle y = HostFile.MemfdCreate("spawn-y", out long e2);
        Assert.True(e1 >= 0 && e2 >= 0);

        // x and y at two fds; the child must get y at x's number and x at y's (applied in order, the first
        // dup2 would overwrite the second one's source).
        long a = HostFile.Fcntl(x.Fd, HostFile.F_DUPFD_CLOEXEC, 300);
        Assert.True(a >= 0);
        using var xa = new SafeFdHandle((int)a);
        long b = HostFile.Fcntl(y.Fd, HostFile.F_DUPFD_CLOEXEC, a + 1);
        Assert.True(b >= 0);
        using var yb = new SafeFdHandle((int)b);

        string output = Path.Combine(Path.GetTempPath(), "moat-spawn-" + System.Guid.NewGuid().ToString("N"));
        string script = string.Format(CultureInfo.InvariantCulture, "readlink /proc/self/fd/{0} /proc/self/fd/{1} > {2}", a, b, output);
        int pid = HostSpawn.Spawn("/bin/sh", ["sh", "-c", script], [], [(yb.Fd, (int)a), (xa.Fd, (int)b)], []);
        Assert.True(pid > 0);
        Assert.Equal(pid, HostProcess.WaitPid(pid, out int status, 0));
        Assert.True(HostProcess.WIfExited(status) && HostProcess.WExitStatus(status) == 0);
        try
        {
            string[] lines = File.ReadAllLines(output);
            Assert.Equal(["/memfd:spawn-y (deleted)", "/memfd:spawn-x (deleted)"], lines);
        }
        finally
        {
            File.Delete(output);
        }
    }
}
