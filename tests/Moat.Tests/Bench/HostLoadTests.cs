using System;
using System.Diagnostics;
using System.Linq;
using Moat.Bench.Running;

namespace Moat.Tests.Bench;

public sealed class HostLoadTests
{
    [Fact]
    public void Start_RunsThatManyThreads_DisposeEndsThem()
    {
        HostLoad load = HostLoad.Start(2);
        Assert.Equal(2, load.Threads);
        load.Dispose(); // returns only once both threads have ended (a count of the process's threads would race other tests')
    }

    [Fact]
    public void Start_None_IsIdle_Negative_Throws()
    {
        using (HostLoad none = HostLoad.Start(0))
        {
            Assert.Equal(0, none.Threads);
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => HostLoad.Start(-1));
    }
}
