using System.Runtime.InteropServices;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>The kernel's struct termios, as TCGETS and TCSETS copy it (36 bytes on x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KernelTermios
{
    public const int NumControlChars = 19;

    public uint IFlag;
    public uint OFlag;
    public uint CFlag;
    public uint LFlag;
    public byte Line;
    public fixed byte Cc[NumControlChars];

    /// <summary>What a new pty replica starts with: Linux's tty_std_termios with the pts driver's c_cflag.</summary>
    public static KernelTermios Default()
    {
        var t = new KernelTermios
        {
            IFlag = Tio.ICRNL | Tio.IXON,
            OFlag = Tio.OPOST | Tio.ONLCR,
            CFlag = Tio.B38400 | Tio.CS8 | Tio.CREAD,
            LFlag = Tio.ISIG | Tio.ICANON | Tio.ECHO | Tio.ECHOE | Tio.ECHOK | Tio.ECHOCTL | Tio.ECHOKE | Tio.IEXTEN,
        };
        // INIT_C_CC: ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, -, ^Q ^S ^Z, -, ^R ^O ^W ^V, -.
        byte[] cc = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
        for (int i = 0; i < cc.Length; i++)
        {
            t.Cc[i] = cc[i];
        }

        return t;
    }

    public readonly bool L(uint flag) => (LFlag & flag) != 0;

    public readonly bool I(uint flag) => (IFlag & flag) != 0;

    public readonly bool O(uint flag) => (OFlag & flag) != 0;

    public readonly byte this[int index] => Cc[index];
}

/// <summary>The termios flag bits and control-character indexes of x86-64 Linux.</summary>
internal static class Tio
{
    // c_iflag
    public const uint ISTRIP = 0x20;
    public const uint INLCR = 0x40;
    public const uint IGNCR = 0x80;
    public const uint ICRNL = 0x100;
    public const uint IUCLC = 0x200;
    public const uint IXON = 0x400;

    // c_oflag
    public const uint OPOST = 0x1;
    public const uint OLCUC = 0x2;
    public const uint ONLCR = 0x4;
    public const uint OCRNL = 0x8;
    public const uint ONOCR = 0x10;
    public const uint ONLRET = 0x20;

    // c_cflag
    public const uint B38400 = 0xF;
    public const uint CSIZE = 0x30;
    public const uint CS8 = 0x30;
    public const uint CREAD = 0x80;
    public const uint PARENB = 0x100;

    // c_lflag
    public const uint ISIG = 0x1;
    public const uint ICANON = 0x2;
    public const uint ECHO = 0x8;
    public const uint ECHOE = 0x10;
    public const uint ECHOK = 0x20;
    public const uint ECHONL = 0x40;
    public const uint NOFLSH = 0x80;
    public const uint TOSTOP = 0x100;
    public const uint ECHOCTL = 0x200;
    public const uint ECHOKE = 0x800;
    public const uint IEXTEN = 0x8000;

    // c_cc indexes
    public const int VINTR = 0;
    public const int VQUIT = 1;
    public const int VERASE = 2;
    public const int VKILL = 3;
    public const int VEOF = 4;
    public const int VTIME = 5;
    public const int VMIN = 6;
    public const int VSUSP = 10;
    public const int VEOL = 11;
    public const int VWERASE = 14;
    public const int VLNEXT = 15;
    public const int VEOL2 = 16;
}

/// <summary>struct winsize (TIOCGWINSZ, TIOCSWINSZ).</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct Winsize : System.IEquatable<Winsize>
{
    public readonly ushort Row;
    public readonly ushort Col;
    public readonly ushort XPixel;
    public readonly ushort YPixel;

    public bool Equals(Winsize o) => Row == o.Row && Col == o.Col && XPixel == o.XPixel && YPixel == o.YPixel;

    public override bool Equals(object? obj) => obj is Winsize w && Equals(w);

    public override int GetHashCode() => System.HashCode.Combine(Row, Col, XPixel, YPixel);
}
