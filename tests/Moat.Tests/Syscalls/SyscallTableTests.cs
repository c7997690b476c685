using System.Collections.Generic;
using System.Linq;
using Moat.Abi;
using Moat.Sentry.Syscalls.Linux;

namespace Moat.Tests.Syscalls;

public class SyscallTableTests
{
    private static IEnumerable<SyscallEntry> Present() => SyscallTable.Entries.Where(e => e != null).Select(e => e!);

    [Fact]
    public void Entries_CoverEveryKnownNumber()
    {
        Assert.Equal(Sysno.MaxSyscall, SyscallTable.Entries.Count);
    }

    [Fact]
    public void Entries_NumberEqualsIndex()
    {
        IReadOnlyList<SyscallEntry?> entries = SyscallTable.Entries;
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i] is SyscallEntry e)
            {
                Assert.Equal(i, e.Number);
            }
        }
    }

    [Fact]
    public void Entries_NamesAreUniqueAndMatchSysno()
    {
        var entries = Present().ToList();

        Assert.True(entries.Count > 50);
        Assert.Equal(entries.Count, entries.Select(e => e.Name).Distinct().Count());
        foreach (SyscallEntry e in entries)
        {
            Assert.Equal(Sysno.Name(e.Number), e.Name);
            Assert.True(Sysno.IsKnown(e.Number), e.Name);
        }
    }

    [Fact]
    public void Entries_HaveHandlersAndNotesMatchSupportLevel()
    {
        foreach (SyscallEntry e in Present())
        {
            Assert.NotEqual(SupportLevel.Unimplemented, e.Support);
            if (e.Support == SupportLevel.Refused)
            {
                Assert.Null(e.Handler);
                Assert.NotEqual(Errno.None, e.Refusal);
                Assert.False(string.IsNullOrWhiteSpace(e.Note), e.Name + " is refused without a reason");
                continue;
            }

            Assert.NotNull(e.Handler);
            if (e.Support == SupportLevel.Partial)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Note), e.Name + " is partial without a note");
            }
            else
            {
                Assert.Null(e.Note);
            }
        }
    }

    [Theory]
    [InlineData(Sysno.read)]
    [InlineData(Sysno.write)]
    [InlineData(Sysno.mmap)]
    [InlineData(Sysno.munmap)]
    [InlineData(Sysno.brk)]
    [InlineData(Sysno.exit_group)]
    [InlineData(Sysno.openat)]
    [InlineData(Sysno.close)]
    [InlineData(Sysno.ptrace)]
    public void Entries_CoreSyscalls_AreImplemented(int nr)
    {
        SyscallEntry? e = SyscallTable.Entries[nr];

        Assert.NotNull(e);
        Assert.NotNull(e!.Handler);
    }

    [Theory]
    [InlineData(Sysno.io_uring_setup)]
    [InlineData(Sysno.kexec_load)]
    [InlineData(Sysno.init_module)]
    public void Entries_UnimplementedSyscalls_HaveNoHandler(int nr)
    {
        Assert.Null(SyscallTable.Entries[nr]?.Handler);
    }

    [Fact]
    public void Entries_EveryKnownNumber_IsServedOrRefusedWithAReason()
    {
        for (int nr = 0; nr < Sysno.MaxSyscall; nr++)
        {
            if (Sysno.IsKnown(nr))
            {
                Assert.True(SyscallTable.Entries[nr] != null, Sysno.Name(nr) + " is neither served nor refused");
            }
        }
    }

    [Fact]
    public void Invoke_Refused_ReturnsItsErrno()
    {
        Assert.Equal(-Errno.EPERM.Value, SyscallTable.Invoke(null!, Sysno.syslog, new SyscallArgs(0)));
        Assert.Equal(-Errno.ENOSYS.Value, SyscallTable.Invoke(null!, Sysno.landlock_create_ruleset, new SyscallArgs(0)));
    }

    [Fact]
    public void Invoke_Unimplemented_ReturnsENOSYSAndLogsNameOnce()
    {
        var logged = new List<string>();
        SyscallTable.UnimplementedLogger = logged.Add;
        try
        {
            // Handlers are never reached for an unimplemented number, so no task is needed.
            long r1 = SyscallTable.Invoke(null!, Sysno.io_uring_setup, new SyscallArgs(0));
            long r2 = SyscallTable.Invoke(null!, Sysno.io_uring_setup, new SyscallArgs(0));

            Assert.Equal(-Errno.ENOSYS.Value, r1);
            Assert.Equal(-Errno.ENOSYS.Value, r2);
            Assert.Single(logged, "io_uring_setup");
        }
        finally
        {
            SyscallTable.UnimplementedLogger = null;
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(Sysno.MaxSyscall)]
    [InlineData(0x4000_0000)] // the x32 bit
    [InlineData(int.MaxValue)]
    public void Invoke_OutOfRangeNumber_ReturnsENOSYS(int nr)
    {
        Assert.Equal(-Errno.ENOSYS.Value, SyscallTable.Invoke(null!, nr, new SyscallArgs(0)));
    }
}
