using System;
using System.IO;
using System.Linq;
using Moat.Abi;
using Moat.Sentry.Profiling;

namespace Moat.Tests.Profiling;

public class SyscallProfileTests
{
    [Fact]
    public void WriteReport_ShowsCountsAndBytesAllocatedPerOperation()
    {
        var p = new SyscallProfile();
        p.RecordSyscall(Sysno.close, 10, 10, 0);
        p.RecordSyscall(Sysno.openat, 10, 10, 600);
        p.RecordSyscall(Sysno.openat, 10, 10, 800);

        var w = new StringWriter();
        p.WriteReport(w);
        string[] lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Contains("1400 bytes allocated", lines[0], StringComparison.Ordinal);
        Assert.EndsWith("alloc B/op", lines[1].TrimEnd(), StringComparison.Ordinal);
        string[] openat = lines.Single(l => l.StartsWith("openat ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("2", openat[1]);
        Assert.Equal("700", openat[^1]);
        Assert.Equal("0", lines.Single(l => l.StartsWith("close ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]);
    }
}
