using System;
using Moat.Abi;
using Moat.Sentry;
using Moat.Sentry.Kernel.Seccomp;
using static Moat.Sentry.Kernel.Seccomp.BpfInstruction;
using static Moat.Tests.Kernel.Seccomp.BpfTestPrograms;

namespace Moat.Tests.Kernel.Seccomp;

public sealed class SeccompFilterTests
{
    private static SeccompFilter Chain(params uint[] answersForGetppid)
    {
        SeccompFilter? f = null;
        foreach (uint ret in answersForGetppid)
        {
            f = SeccompFilter.Attach(f, OnCall(Sysno.getppid, ret), log: false, out Errno err);
            Assert.Equal(Errno.None, err);
        }

        return f!;
    }

    [Theory]
    [InlineData(SeccompAbi.SECCOMP_RET_ALLOW, SeccompAbi.SECCOMP_RET_LOG, SeccompAbi.SECCOMP_RET_LOG)]
    [InlineData(SeccompAbi.SECCOMP_RET_LOG, SeccompAbi.SECCOMP_RET_TRACE, SeccompAbi.SECCOMP_RET_TRACE)]
    [InlineData(SeccompAbi.SECCOMP_RET_TRACE, SeccompAbi.SECCOMP_RET_USER_NOTIF, SeccompAbi.SECCOMP_RET_USER_NOTIF)]
    [InlineData(SeccompAbi.SECCOMP_RET_USER_NOTIF, SeccompAbi.SECCOMP_RET_ERRNO | 1, SeccompAbi.SECCOMP_RET_ERRNO | 1)]
    [InlineData(SeccompAbi.SECCOMP_RET_TRAP, SeccompAbi.SECCOMP_RET_ERRNO | 1, SeccompAbi.SECCOMP_RET_TRAP)]
    [InlineData(SeccompAbi.SECCOMP_RET_TRAP, SeccompAbi.SECCOMP_RET_KILL_THREAD, SeccompAbi.SECCOMP_RET_KILL_THREAD)]
    [InlineData(SeccompAbi.SECCOMP_RET_KILL_PROCESS, SeccompAbi.SECCOMP_RET_KILL_THREAD, SeccompAbi.SECCOMP_RET_KILL_PROCESS)]
    [InlineData(SeccompAbi.SECCOMP_RET_ERRNO | 1, SeccompAbi.SECCOMP_RET_ERRNO | 2, SeccompAbi.SECCOMP_RET_ERRNO | 2)]
    public void Evaluate_TwoFilters_MostRestrictiveWinsNewestOnTies(uint older, uint newer, uint expected)
    {
        Assert.Equal(expected, Chain(older, newer).Evaluate(Call(Sysno.getppid), out _));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ALLOW, Chain(older, newer).Evaluate(Call(Sysno.getpid), out _));
    }

    [Fact]
    public void Attach_CountsFiltersAndExtendsItsBase()
    {
        SeccompFilter one = Chain(SeccompAbi.SECCOMP_RET_ALLOW);
        SeccompFilter two = SeccompFilter.Attach(one, OnCall(1, 0), log: true, out _)!;
        Assert.Equal(1, one.Count);
        Assert.Equal(2, two.Count);
        Assert.True(two.Extends(one));
        Assert.True(two.Extends(null));
        Assert.False(one.Extends(two));
        Assert.Equal(SeccompAbi.SECCOMP_MODE_FILTER, two.Mode);
        Assert.Equal(SeccompAbi.SECCOMP_MODE_STRICT, SeccompFilter.Strict.Mode);
    }

    [Fact]
    public void Attach_PastMaxInsnsPerPath_ReturnsENOMEM()
    {
        // 4096 instructions translate to 4101 (prologue 3, two RET K of 2, 4094 loads), 4 more each: 7 fit.
        var big = new BpfInstruction[4096];
        Array.Fill(big, Stmt(Ld | Imm, 1));
        big[0] = RetK(SeccompAbi.SECCOMP_RET_ALLOW);
        big[^1] = RetK(SeccompAbi.SECCOMP_RET_ALLOW);
        SeccompFilter? f = null;
        for (int i = 0; i < 7; i++)
        {
            f = SeccompFilter.Attach(f, big, log: false, out Errno ok);
            Assert.Equal(Errno.None, ok);
        }

        Assert.Null(SeccompFilter.Attach(f, big, log: false, out Errno err));
        Assert.Equal(Errno.ENOMEM, err);
        Assert.NotNull(SeccompFilter.Attach(f, [RetK(SeccompAbi.SECCOMP_RET_ALLOW)], log: false, out _));
    }

    [Fact]
    public void Evaluate_LogFlag_FollowsTheDecidingFilter()
    {
        SeccompFilter quiet = Chain(SeccompAbi.SECCOMP_RET_ERRNO | 1);
        SeccompFilter loud = SeccompFilter.Attach(quiet, OnCall(Sysno.getppid, SeccompAbi.SECCOMP_RET_TRAP), log: true, out _)!;
        Assert.Equal(SeccompAbi.SECCOMP_RET_TRAP, loud.Evaluate(Call(Sysno.getppid), out bool log));
        Assert.True(log);
        SeccompFilter quietOnTop = SeccompFilter.Attach(loud, OnCall(Sysno.getppid, SeccompAbi.SECCOMP_RET_KILL_PROCESS), log: false, out _)!;
        quietOnTop.Evaluate(Call(Sysno.getppid), out log);
        Assert.False(log);
    }

    [Fact]
    public void RuleTable_FirstMatchingRuleThenDefault()
    {
        var policy = new SeccompPolicy
        {
            DefaultAction = SeccompAbi.SECCOMP_RET_ERRNO | 1,
            Rules =
            [
                new SeccompPolicyRule(Sysno.getppid, SeccompAbi.SECCOMP_RET_ALLOW, []),
                new SeccompPolicyRule(Sysno.personality, SeccompAbi.SECCOMP_RET_ALLOW, [new SeccompArgCondition(0, SeccompCompare.Equal, 8, 0)]),
                new SeccompPolicyRule(Sysno.clone, SeccompAbi.SECCOMP_RET_ALLOW, [new SeccompArgCondition(0, SeccompCompare.MaskedEqual, 0x7E020000, 0)]),
                new SeccompPolicyRule(Sysno.mkdir, SeccompAbi.SECCOMP_RET_ERRNO | 13, [new SeccompArgCondition(1, SeccompCompare.Greater, 0x1ff, 0), new SeccompArgCondition(0, SeccompCompare.NotEqual, 0, 0)]),
                new SeccompPolicyRule(Sysno.mkdir, SeccompAbi.SECCOMP_RET_ALLOW, []),
            ],
            BadArchAction = SeccompAbi.SECCOMP_RET_KILL_THREAD,
            CoversX32 = true,
        };
        var table = new SeccompRuleTable(policy);
        Assert.Equal(SeccompAbi.SECCOMP_RET_ALLOW, table.Evaluate(Call(Sysno.getppid)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 1, table.Evaluate(Call(Sysno.unshare)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ALLOW, table.Evaluate(Call(Sysno.personality, a0: 8)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 1, table.Evaluate(Call(Sysno.personality, a0: 8 | (1UL << 32))));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ALLOW, table.Evaluate(Call(Sysno.clone, a0: 0x11)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 1, table.Evaluate(Call(Sysno.clone, a0: 0x20000000))); // CLONE_NEWPID: any namespace flag
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 13, table.Evaluate(Call(Sysno.mkdir, a0: 0x1000, a1: 0x200)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ALLOW, table.Evaluate(Call(Sysno.mkdir, a0: 0x1000, a1: 0x1ff)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 1, table.Evaluate(Call(Sysno.getppid | SeccompAbi.X32_SYSCALL_BIT)));
        Assert.Equal(SeccompAbi.SECCOMP_RET_KILL_THREAD, table.Evaluate(Call(20, arch: SeccompAbi.AUDIT_ARCH_I386)));
    }

    [Fact]
    public void Evaluate_RuleTable_AllocatesNothing()
    {
        var policy = new SeccompPolicy
        {
            DefaultAction = SeccompAbi.SECCOMP_RET_ALLOW,
            Rules = [new SeccompPolicyRule(Sysno.mkdir, SeccompAbi.SECCOMP_RET_ERRNO | 13, [new SeccompArgCondition(1, SeccompCompare.Equal, 0x1ff, 0)])],
        };
        SeccompFilter f = SeccompFilter.Attach(null, new SeccompRuleTable(policy), log: false, out _)!;
        SeccompData data = Call(Sysno.mkdir, a1: 0x1ff);
        f.Evaluate(data, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            f.Evaluate(data, out _);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
