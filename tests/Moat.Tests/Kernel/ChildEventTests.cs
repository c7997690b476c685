using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

public class ChildEventTests
{
    private static readonly ThreadGroup Child = new(2, null, "/bin/child") { Mounts = null! }; // no path is resolved here

    [Fact]
    public void Stopped_BySigstop_IsStopSignalOver0x7f()
    {
        var ev = new ChildEvent(Child, ChildEvent.CLD_STOPPED, Signal.SIGSTOP);

        Assert.Equal(0x137f, ev.WaitStatus);
    }

    [Fact]
    public void Trapped_ForkEvent_HasTheEventAboveTheSignal()
    {
        var ev = new ChildEvent(Child, ChildEvent.CLD_TRAPPED, Signal.SIGTRAP | (PtraceAbi.PTRACE_EVENT_FORK << 8), 9);

        Assert.Equal(0x1057f, ev.WaitStatus);
        Assert.Equal(9, ev.ReportedPid);
    }

    [Fact]
    public void Continued_Is0xffff()
    {
        var ev = new ChildEvent(Child, ChildEvent.CLD_CONTINUED, Signal.SIGCONT);

        Assert.Equal(0xffff, ev.WaitStatus);
    }

    [Fact]
    public void Exited_Code7_IsCldExitedWithTheCode()
    {
        var ev = ChildEvent.Exited(Child, ExitStatus.Exited(7));

        Assert.Equal(ChildEvent.CLD_EXITED, ev.Code);
        Assert.Equal(7, ev.Status);
        Assert.Equal(0x700, ev.WaitStatus);
    }

    [Fact]
    public void Killed_WithCore_IsCldDumped()
    {
        var ev = ChildEvent.Exited(Child, ExitStatus.Killed(Signal.SIGSEGV, core: true));

        Assert.Equal(ChildEvent.CLD_DUMPED, ev.Code);
        Assert.Equal(Signal.SIGSEGV, ev.Status);
        Assert.Equal(Signal.SIGSEGV | 0x80, ev.WaitStatus);
    }

    [Fact]
    public void Killed_WithoutCore_IsCldKilled()
    {
        var ev = ChildEvent.Exited(Child, ExitStatus.Killed(Signal.SIGKILL));

        Assert.Equal(ChildEvent.CLD_KILLED, ev.Code);
        Assert.Equal(Signal.SIGKILL, ev.WaitStatus);
    }
}
