using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Vfs;

namespace Moat.Tests.Vfs;

public class SignalFdTests
{
    private static byte[] Encode(SigInfo info)
    {
        var buf = new byte[SignalFd.InfoSize];
        SignalFd.Encode(info, buf);
        return buf;
    }

    private static int I32(byte[] b, int offset) => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(offset));

    private static ulong U64(byte[] b, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(offset));

    [Fact]
    public void Encode_Kill_HasSignoCodePidUid()
    {
        byte[] b = Encode(new SigInfo { si_signo = Signal.SIGUSR1, si_code = SigInfo.SI_USER, si_pid = 12, si_uid = 1000 });

        Assert.Equal(Signal.SIGUSR1, I32(b, 0));
        Assert.Equal(SigInfo.SI_USER, I32(b, 8));
        Assert.Equal(12, I32(b, 12));
        Assert.Equal(1000, I32(b, 16));
        Assert.Equal(0, I32(b, 40));
    }

    [Fact]
    public void Encode_Chld_HasStatus()
    {
        byte[] b = Encode(new SigInfo { si_signo = Signal.SIGCHLD, si_code = 1, si_pid = 5, si_status = 3 });

        Assert.Equal(5, I32(b, 12));
        Assert.Equal(3, I32(b, 40));
    }

    [Fact]
    public void Encode_Queue_HasValueAsIntAndPointer()
    {
        var info = new SigInfo { si_signo = Signal.SIGRTMIN, si_code = -1, si_pid = 9 };
        MemoryMarshal.Write(MemoryMarshal.AsBytes(new Span<SigInfo>(ref info))[24..], 0x1_0000_002AUL);

        byte[] b = Encode(info);

        Assert.Equal(9, I32(b, 12));
        Assert.Equal(42, I32(b, 44));
        Assert.Equal(0x1_0000_002AUL, U64(b, 48));
    }

    [Fact]
    public void Encode_Fault_HasAddressOnly()
    {
        byte[] b = Encode(new SigInfo { si_signo = Signal.SIGSEGV, si_code = SigInfo.SEGV_MAPERR, si_addr = 0xdead000 });

        Assert.Equal(0xdead000UL, U64(b, 72));
        Assert.Equal(0, I32(b, 12));
    }

    [Fact]
    public void Encode_Timer_HasTimerIdOverrunAndValue()
    {
        var info = new SigInfo { si_signo = Signal.SIGALRM, si_code = -2 };
        Span<byte> raw = MemoryMarshal.AsBytes(new Span<SigInfo>(ref info));
        BinaryPrimitives.WriteInt32LittleEndian(raw[16..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(raw[20..], 2);
        BinaryPrimitives.WriteInt64LittleEndian(raw[24..], 77);

        byte[] b = Encode(info);

        Assert.Equal(4, I32(b, 24));
        Assert.Equal(2, I32(b, 32));
        Assert.Equal(77, I32(b, 44));
        Assert.Equal(77UL, U64(b, 48));
    }
}
