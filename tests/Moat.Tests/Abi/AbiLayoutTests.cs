using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Moat.Abi;

namespace Moat.Tests.Abi;

public class AbiLayoutTests
{
    [Fact]
    public void PtraceRegs_MatchesUserRegsStruct()
    {
        Assert.Equal(216, Unsafe.SizeOf<PtraceRegs>());
        Assert.Equal(PtraceRegs.Size, Marshal.SizeOf<PtraceRegs>());
        Assert.Equal(80, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.rax)));
        Assert.Equal(120, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.orig_rax)));
        Assert.Equal(128, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.rip)));
        Assert.Equal(152, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.rsp)));
        Assert.Equal(168, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.fs_base)));
        Assert.Equal(176, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.gs_base)));
        Assert.Equal(208, (int)Marshal.OffsetOf<PtraceRegs>(nameof(PtraceRegs.gs)));
    }

    [Fact]
    public void Iocb_And_IoEvent_MatchAioAbi()
    {
        Assert.Equal(64, Unsafe.SizeOf<Iocb>());
        Assert.Equal(8, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_key)));
        Assert.Equal(12, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_rw_flags)));
        Assert.Equal(16, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_lio_opcode)));
        Assert.Equal(20, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_fildes)));
        Assert.Equal(24, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_buf)));
        Assert.Equal(40, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_offset)));
        Assert.Equal(56, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_flags)));
        Assert.Equal(60, (int)Marshal.OffsetOf<Iocb>(nameof(Iocb.aio_resfd)));
        Assert.Equal(32, Unsafe.SizeOf<IoEvent>());
        Assert.Equal(16, (int)Marshal.OffsetOf<IoEvent>(nameof(IoEvent.res)));
    }

    [Fact]
    public void Stat_MatchesKernelStat()
    {
        Assert.Equal(144, Unsafe.SizeOf<Stat>());
        Assert.Equal(Stat.Size, Marshal.SizeOf<Stat>());
        Assert.Equal(24, (int)Marshal.OffsetOf<Stat>(nameof(Stat.st_mode)));
        Assert.Equal(48, (int)Marshal.OffsetOf<Stat>(nameof(Stat.st_size)));
        Assert.Equal(56, (int)Marshal.OffsetOf<Stat>(nameof(Stat.st_blksize)));
        Assert.Equal(72, (int)Marshal.OffsetOf<Stat>(nameof(Stat.st_atime)));
        Assert.Equal(88, (int)Marshal.OffsetOf<Stat>(nameof(Stat.st_mtime)));
        Assert.Equal(104, (int)Marshal.OffsetOf<Stat>(nameof(Stat.st_ctime)));
    }

    [Fact]
    public void Stat_FilledByHostFstat_HasSizeAtRightOffset()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[12345]);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read);

            Assert.Equal(0, Moat.Host.HostFile.Fstat((int)fs.SafeFileHandle.DangerousGetHandle(), out Stat st));

            Assert.Equal(12345, st.st_size);
            Assert.Equal(Stat.S_IFREG, st.st_mode & Stat.S_IFMT);
            Assert.Equal(new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds(), st.st_mtime);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SigInfo_Is128BytesWithAddrAt16()
    {
        Assert.Equal(128, Unsafe.SizeOf<SigInfo>());
        Assert.Equal(SigInfo.Size, Marshal.SizeOf<SigInfo>());
        Assert.Equal(8, (int)Marshal.OffsetOf<SigInfo>(nameof(SigInfo.si_code)));
        Assert.Equal(16, (int)Marshal.OffsetOf<SigInfo>(nameof(SigInfo.si_addr)));
        Assert.Equal(16, (int)Marshal.OffsetOf<SigInfo>(nameof(SigInfo.si_pid)));
        Assert.Equal(20, (int)Marshal.OffsetOf<SigInfo>(nameof(SigInfo.si_uid)));
        Assert.Equal(24, (int)Marshal.OffsetOf<SigInfo>(nameof(SigInfo.si_status)));
    }

    [Fact]
    public void SmallStructs_Are16Bytes()
    {
        Assert.Equal(16, Unsafe.SizeOf<Timespec>());
        Assert.Equal(8, (int)Marshal.OffsetOf<Timespec>(nameof(Timespec.tv_nsec)));
        Assert.Equal(16, Unsafe.SizeOf<Timeval>());
        Assert.Equal(16, Unsafe.SizeOf<Rlimit>());
        Assert.Equal(8, (int)Marshal.OffsetOf<Rlimit>(nameof(Rlimit.rlim_max)));
        Assert.Equal(ulong.MaxValue, Rlimit.RLIM_INFINITY);
    }

    [Fact]
    public void Sysno_WellKnownNumbers()
    {
        Assert.Equal(0, Sysno.read);
        Assert.Equal(1, Sysno.write);
        Assert.Equal(9, Sysno.mmap);
        Assert.Equal(59, Sysno.execve);
        Assert.Equal(231, Sysno.exit_group);
        Assert.Equal(257, Sysno.openat);
        Assert.Equal(317, Sysno.seccomp);
        Assert.Equal(425, Sysno.io_uring_setup);
        Assert.Equal(437, Sysno.openat2);
        Assert.Equal("openat", Sysno.Name(Sysno.openat));
        Assert.Equal("exit_group", Sysno.Name(231));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(512)]
    [InlineData(100000)]
    [InlineData(int.MinValue)]
    public void Sysno_Name_Unknown_IsSyscallNumber(int nr)
    {
        Assert.Equal("syscall_" + nr.ToString(CultureInfo.InvariantCulture), Sysno.Name(nr));
        Assert.False(Sysno.IsKnown(nr));
    }

    private static IEnumerable<(string Name, int Value)> SysnoConstants() =>
        typeof(Sysno).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int) && f.Name != nameof(Sysno.MaxSyscall))
            .Select(f => (f.Name, (int)f.GetRawConstantValue()!));

    [Fact]
    public void Sysno_EveryConstant_NamesItselfAndIsUnique()
    {
        var all = SysnoConstants().ToList();

        Assert.True(all.Count > 350);
        Assert.Equal(all.Count, all.Select(c => c.Value).Distinct().Count());
        foreach ((string name, int value) in all)
        {
            Assert.Equal(name, Sysno.Name(value));
            Assert.True(Sysno.IsKnown(value), name);
            Assert.InRange(value, 0, Sysno.MaxSyscall - 1);
        }
    }

    [Fact]
    public void Sysno_AgreesWithHostKernelHeaders()
    {
        const string Header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
        var expected = new Dictionary<string, int>
        {
            ["read"] = 0, ["close"] = 3, ["mprotect"] = 10, ["rt_sigreturn"] = 15, ["clone"] = 56, ["exit"] = 60,
            ["arch_prctl"] = 158, ["gettid"] = 186, ["futex"] = 202, ["exit_group"] = 231, ["openat"] = 257,
            ["newfstatat"] = 262, ["prlimit64"] = 302, ["getrandom"] = 318, ["statx"] = 332, ["rseq"] = 334,
            ["clone3"] = 435, ["openat2"] = 437, ["faccessat2"] = 439,
        };
        if (File.Exists(Header))
        {
            foreach (Match m in Regex.Matches(File.ReadAllText(Header), @"^#define __NR_(\w+)\s+(\d+)\s*$", RegexOptions.Multiline))
            {
                expected[m.Groups[1].Value] = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }

        Dictionary<string, int> ours = SysnoConstants().ToDictionary(c => c.Name, c => c.Value);
        foreach ((string name, int nr) in expected)
        {
            Assert.True(ours.TryGetValue(name, out int value), "Sysno lacks " + name);
            Assert.True(nr == value, $"Sysno.{name} = {value}, the kernel says {nr}");
        }
    }

    [Fact]
    public void Errno_WellKnownValuesAndNames()
    {
        Assert.Equal(1, Errno.EPERM.Value);
        Assert.Equal(2, Errno.ENOENT.Value);
        Assert.Equal(12, Errno.ENOMEM.Value);
        Assert.Equal(14, Errno.EFAULT.Value);
        Assert.Equal(17, Errno.EEXIST.Value);
        Assert.Equal(22, Errno.EINVAL.Value);
        Assert.Equal(36, Errno.ENAMETOOLONG.Value);
        Assert.Equal(38, Errno.ENOSYS.Value);
        Assert.Equal(40, Errno.ELOOP.Value);
        Assert.Equal("ENOENT", Errno.ENOENT.Name);
        Assert.Equal("ENOSYS", Errno.FromValue(38).ToString());
        Assert.Equal("ERESTARTSYS", Errno.ERESTARTSYS.Name);
    }

    [Fact]
    public void Errno_Aliases_ReportPrimaryName()
    {
        Assert.Equal(Errno.EAGAIN, Errno.EWOULDBLOCK);
        Assert.Equal("EAGAIN", Errno.EWOULDBLOCK.Name);
        Assert.Equal("EDEADLK", Errno.EDEADLOCK.Name);
        Assert.Equal("EOPNOTSUPP", Errno.ENOTSUP.Name);
    }

    [Theory]
    [InlineData(0, "E0")]
    [InlineData(134, "E134")]
    [InlineData(515, "E515")]
    [InlineData(9999, "E9999")]
    [InlineData(-5, "E-5")]
    public void Errno_Name_Unnamed_IsENumber(int value, string name)
    {
        Assert.Equal(name, Errno.FromValue(value).Name);
    }

    [Fact]
    public void Errno_Equality_IsByValue()
    {
        Assert.True(Errno.FromValue(2) == Errno.ENOENT);
        Assert.False(Errno.FromValue(3) == Errno.ENOENT);
        Assert.True(Errno.FromValue(3) != Errno.ENOENT);
        Assert.True(Errno.ENOENT.Equals((object)Errno.FromValue(2)));
        Assert.Equal(Errno.ENOENT.GetHashCode(), Errno.FromValue(2).GetHashCode());
        Assert.True(default(Errno).IsNone);
        Assert.Equal(Errno.None, default);
    }

    [Fact]
    public void Errno_EveryField_NamedAfterItselfUnlessAlias()
    {
        string[] aliases = [nameof(Errno.EWOULDBLOCK), nameof(Errno.EDEADLOCK), nameof(Errno.ENOTSUP), nameof(Errno.None)];
        FieldInfo[] fields = typeof(Errno).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.FieldType == typeof(Errno)).ToArray();

        Assert.True(fields.Length > 130);
        foreach (FieldInfo f in fields)
        {
            if (aliases.Contains(f.Name))
            {
                continue;
            }

            Assert.Equal(f.Name, ((Errno)f.GetValue(null)!).Name);
        }
    }

    [Fact]
    public void Errno_AgreesWithHostKernelHeaders()
    {
        var expected = new Dictionary<string, int>
        {
            ["EPERM"] = 1, ["EAGAIN"] = 11, ["EACCES"] = 13, ["ENOTDIR"] = 20, ["ESPIPE"] = 29, ["EPIPE"] = 32,
            ["ERANGE"] = 34, ["EDEADLK"] = 35, ["ENOTEMPTY"] = 39, ["ENODATA"] = 61, ["ETIME"] = 62,
            ["EOVERFLOW"] = 75, ["EOPNOTSUPP"] = 95, ["ETIMEDOUT"] = 110, ["EHWPOISON"] = 133,
        };
        foreach (string header in new[] { "/usr/include/asm-generic/errno-base.h", "/usr/include/asm-generic/errno.h" })
        {
            if (File.Exists(header))
            {
                foreach (Match m in Regex.Matches(File.ReadAllText(header), @"^#define\s+(E\w+)\s+(\d+)\b", RegexOptions.Multiline))
                {
                    expected[m.Groups[1].Value] = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                }
            }
        }

        foreach ((string name, int value) in expected)
        {
            FieldInfo? f = typeof(Errno).GetField(name, BindingFlags.Public | BindingFlags.Static);
            Assert.True(f != null, "Errno lacks " + name);
            Assert.True(((Errno)f!.GetValue(null)!).Value == value, $"Errno.{name} != {value}");
            Assert.Equal(name, Errno.FromValue(value).Name);
        }
    }

    [Theory]
    [InlineData(Signal.SIGSEGV, "SIGSEGV")]
    [InlineData(Signal.SIGBUS, "SIGBUS")]
    [InlineData(Signal.SIGKILL, "SIGKILL")]
    [InlineData(Signal.SIGSYS, "SIGSYS")]
    [InlineData(Signal.SIGIOT, "SIGABRT")]
    [InlineData(32, "SIGRTMIN")]
    [InlineData(34, "SIGRTMIN+2")]
    [InlineData(64, "SIGRTMIN+32")]
    [InlineData(65, "SIG65")]
    [InlineData(-1, "SIG-1")]
    public void Signal_Name(int sig, string name)
    {
        Assert.Equal(name, Signal.Name(sig));
    }

    [Fact]
    public void Signal_Numbers_AndValidity()
    {
        Assert.Equal(11, Signal.SIGSEGV);
        Assert.Equal(7, Signal.SIGBUS);
        Assert.Equal(17, Signal.SIGCHLD);
        Assert.True(Signal.IsValid(1));
        Assert.True(Signal.IsValid(64));
        Assert.False(Signal.IsValid(0));
        Assert.False(Signal.IsValid(65));
    }
}
