using System;
using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Vfs.Devpts;

/// <summary>
/// Linux's N_TTY line discipline for one pty pair, without the locking (the terminal holds its lock around
/// every call): input from the master goes through the input maps, signal characters, canonical editing and
/// echo into what the replica reads; output of the replica goes through OPOST processing into what the
/// master reads. Echoes are output, so they are processed too (ONLCR turns an echoed newline into CR LF).
/// </summary>
internal sealed class LineDiscipline
{
    /// <summary>Bytes queued for either side at most; a writer blocks beyond (the tty buffer limit).</summary>
    public const int QueueCapacity = 65536;

    /// <summary>A canonical line holds at most this many bytes (N_TTY_BUF_SIZE - 1); the rest are dropped.</summary>
    public const int MaxLine = 4095;

    private readonly ByteRing _readable = new(QueueCapacity);
    private readonly Queue<int> _lines = new(); // canonical: lengths of the complete lines in _readable
    private readonly byte[] _edit = new byte[MaxLine + 1];
    private int _editLen;
    private int _headTaken; // bytes of the first line already read
    private bool _literalNext;
    private int _column;
    private int _canonColumn;

    public LineDiscipline() => Termios = KernelTermios.Default();

    public KernelTermios Termios;

    /// <summary>What the master reads.</summary>
    public ByteRing Output { get; } = new(QueueCapacity);

    /// <summary>FIONREAD on the replica: complete lines in canonical mode, everything otherwise.</summary>
    public int ReadableCount => _readable.Count - (Termios.L(Tio.ICANON) && _lines.Count > 0 ? _headTaken : 0);

    /// <summary>Whether a read of the replica would return now (poll's POLLIN): a complete line, or VMIN bytes.</summary>
    public bool PollReadable
    {
        get
        {
            if (Termios.L(Tio.ICANON))
            {
                return _lines.Count > 0;
            }

            int vmin = Termios[Tio.VMIN];
            return _readable.Count >= (Termios[Tio.VTIME] == 0 && vmin > 0 ? vmin : 1);
        }
    }

    /// <summary>Whether a canonical line (maybe an empty end-of-file one) is complete.</summary>
    public bool HasLine => _lines.Count > 0;

    /// <summary>Bytes queued for the replica.</summary>
    public int RawCount => _readable.Count;

    public bool InputFull => _readable.Room < 2;

    /// <summary>Installs new settings (TCSETS*): a switch of ICANON turns pending input into what the new mode reads.</summary>
    public void SetTermios(in KernelTermios t)
    {
        bool wasCanon = Termios.L(Tio.ICANON);
        Termios = t;
        Termios.CFlag = (Termios.CFlag & ~(Tio.CSIZE | Tio.PARENB)) | Tio.CS8 | Tio.CREAD; // a pty is always 8-bit, readable
        bool canon = Termios.L(Tio.ICANON);
        if (wasCanon && !canon)
        {
            // The line being edited becomes readable as it is.
            for (int i = 0; i < _editLen && _readable.TryAdd(_edit[i]); i++)
            {
            }

            _editLen = 0;
            _lines.Clear();
            _headTaken = 0;
        }
        else if (!wasCanon && canon)
        {
            // Whatever was typed in non-canonical mode is one line (Linux pushes it).
            _lines.Clear();
            _headTaken = 0;
            if (_readable.Count > 0)
            {
                _lines.Enqueue(_readable.Count);
            }
        }
    }

    /// <summary>TCFLSH: drops pending input and/or output.</summary>
    public void Flush(bool input, bool output)
    {
        if (input)
        {
            _readable.Clear();
            _lines.Clear();
            _editLen = 0;
            _headTaken = 0;
            _literalNext = false;
        }

        if (output)
        {
            Output.Clear();
        }
    }

    /// <summary>
    /// How many bytes a replica read of up to <paramref name="count"/> takes now: in canonical mode at most
    /// the rest of the first line (0 for an end-of-file line), otherwise what is queued.
    /// </summary>
    public int Available(int count, out bool line)
    {
        line = Termios.L(Tio.ICANON) && _lines.Count > 0;
        if (line)
        {
            return Math.Min(count, _lines.Peek() - _headTaken);
        }

        return Termios.L(Tio.ICANON) ? 0 : Math.Min(count, _readable.Count);
    }

    public (ReadOnlyMemory<byte> First, ReadOnlyMemory<byte> Second) PeekInput(int n) => _readable.Peek(n);

    /// <summary>Consumes <paramref name="n"/> bytes the replica read (from <see cref="Available"/>).</summary>
    public void Consume(int n, bool line)
    {
        _readable.Drop(n);
        if (line)
        {
            _headTaken += n;
            if (_headTaken == _lines.Peek())
            {
                _lines.Dequeue();
                _headTaken = 0;
            }
        }
    }

    /// <summary>
    /// Processes input the master wrote. Returns how many bytes were taken (fewer when the replica's queue
    /// is full); <paramref name="signals"/> collects the signals (bit n-1 for signal n) for the foreground group.
    /// </summary>
    public int Receive(ReadOnlySpan<byte> src, ref ulong signals)
    {
        int i = 0;
        for (; i < src.Length; i++)
        {
            if (_readable.Room < 2)
            {
                break;
            }

            ReceiveChar(src[i], ref signals);
        }

        return i;
    }

    private void ReceiveChar(byte c, ref ulong signals)
    {
        ref readonly KernelTermios t = ref Termios;
        if (_literalNext)
        {
            _literalNext = false;
            AddChar(c);
            return;
        }

        if (t.I(Tio.ISTRIP))
        {
            c &= 0x7F;
        }

        if (t.I(Tio.IUCLC) && t.L(Tio.IEXTEN) && c is >= (byte)'A' and <= (byte)'Z')
        {
            c = (byte)(c + 32);
        }

        if (c == '\r')
        {
            if (t.I(Tio.IGNCR))
            {
                return;
            }

            if (t.I(Tio.ICRNL))
            {
                c = (byte)'\n';
            }
        }
        else if (c == '\n' && t.I(Tio.INLCR))
        {
            c = (byte)'\r';
        }

        if (t.L(Tio.ISIG))
        {
            int sig = Is(c, Tio.VINTR) ? Signal.SIGINT : Is(c, Tio.VQUIT) ? Signal.SIGQUIT : Is(c, Tio.VSUSP) ? Signal.SIGTSTP : 0;
            if (sig != 0)
            {
                signals |= 1UL << (sig - 1);
                if (!t.L(Tio.NOFLSH))
                {
                    Flush(input: true, output: false);
                }

                if (t.L(Tio.ECHO))
                {
                    EchoChar(c);
                }

                return;
            }
        }

        if (!t.L(Tio.ICANON))
        {
            if (t.L(Tio.ECHO))
            {
                EchoChar(c);
            }

            _readable.TryAdd(c);
            return;
        }

        if (Is(c, Tio.VERASE) || Is(c, Tio.VKILL) || (Is(c, Tio.VWERASE) && t.L(Tio.IEXTEN)))
        {
            Erase(c);
            return;
        }

        if (Is(c, Tio.VLNEXT) && t.L(Tio.IEXTEN))
        {
            _literalNext = true;
            if (t.L(Tio.ECHO) && t.L(Tio.ECHOCTL))
            {
                Emit((byte)'^');
                Emit((byte)'\b');
            }

            return;
        }

        if (c == '\n')
        {
            if (t.L(Tio.ECHO) || t.L(Tio.ECHONL))
            {
                Emit((byte)'\n');
            }

            EndLine(c, keep: true);
            return;
        }

        if (Is(c, Tio.VEOF))
        {
            EndLine(c, keep: false);
            return;
        }

        if (Is(c, Tio.VEOL) || (Is(c, Tio.VEOL2) && t.L(Tio.IEXTEN)))
        {
            if (t.L(Tio.ECHO))
            {
                EchoChar(c);
            }

            EndLine(c, keep: true);
            return;
        }

        AddChar(c);
    }

    // A character of the line being edited (or of non-canonical input after VLNEXT).
    private void AddChar(byte c)
    {
        if (!Termios.L(Tio.ICANON))
        {
            if (Termios.L(Tio.ECHO))
            {
                EchoChar(c);
            }

            _readable.TryAdd(c);
            return;
        }

        if (_editLen >= MaxLine)
        {
            return;
        }

        if (Termios.L(Tio.ECHO))
        {
            if (_editLen == 0)
            {
                _canonColumn = _column;
            }

            EchoChar(c);
        }

        _edit[_editLen++] = c;
    }

    private void EndLine(byte c, bool keep)
    {
        if (keep && _editLen < _edit.Length)
        {
            _edit[_editLen++] = c;
        }

        int n = 0;
        for (; n < _editLen && _readable.TryAdd(_edit[n]); n++)
        {
        }

        _lines.Enqueue(n);
        _editLen = 0;
        _canonColumn = _column;
    }

    private bool Is(byte c, int index)
    {
        byte cc = Termios[index];
        return cc != 0 && c == cc; // 0 is _POSIX_VDISABLE
    }

    private static bool IsControl(byte c) => c < 32 || c == 127;

    // VERASE, VWERASE or VKILL, with the echo that undoes what was shown (n_tty's eraser).
    private void Erase(byte c)
    {
        if (_editLen == 0)
        {
            return;
        }

        ref readonly KernelTermios t = ref Termios;
        bool kill = Is(c, Tio.VKILL);
        bool word = !kill && Is(c, Tio.VWERASE) && !Is(c, Tio.VERASE);
        if (kill)
        {
            if (!t.L(Tio.ECHO))
            {
                _editLen = 0;
                return;
            }

            if (!t.L(Tio.ECHOK) || !t.L(Tio.ECHOKE) || !t.L(Tio.ECHOE))
            {
                _editLen = 0;
                EchoChar(c);
                if (t.L(Tio.ECHOK))
                {
                    Emit((byte)'\n');
                }

                return;
            }
        }

        int seenWord = 0;
        while (_editLen > 0)
        {
            byte last = _edit[_editLen - 1];
            if (word)
            {
                if (char.IsAsciiLetterOrDigit((char)last) || last == '_')
                {
                    seenWord++;
                }
                else if (seenWord > 0)
                {
                    break;
                }
            }

            _editLen--;
            if (t.L(Tio.ECHO))
            {
                if (!kill && !word && !t.L(Tio.ECHOE))
                {
                    EchoChar(c);
                }
                else if (last == '\t')
                {
                    // Back up to where the tab started: the column the rest of the line ends at.
                    int col = _canonColumn;
                    for (int i = 0; i < _editLen; i++)
                    {
                        byte e = _edit[i];
                        col = e == '\t' ? (col | 7) + 1 : IsControl(e) && t.L(Tio.ECHOCTL) ? col + 2 : col + 1;
                    }

                    for (int n = _column - col; n > 0; n--)
                    {
                        Emit((byte)'\b');
                    }
                }
                else
                {
                    int cells = IsControl(last) && t.L(Tio.ECHOCTL) ? 2 : 1;
                    for (int n = 0; n < cells; n++)
                    {
                        Emit((byte)'\b');
                        Emit((byte)' ');
                        Emit((byte)'\b');
                    }
                }
            }

            if (!kill && !word)
            {
                break;
            }
        }
    }

    // echo_char: control characters as ^X under ECHOCTL (not tab or newline), others as they are.
    private void EchoChar(byte c)
    {
        if (Termios.L(Tio.ECHOCTL) && IsControl(c) && c != '\t' && c != '\n')
        {
            Emit((byte)'^');
            Emit((byte)(c ^ 0x40));
        }
        else
        {
            Emit(c);
        }
    }

    // An echoed byte: processed as output, dropped if the master's queue is full (as Linux drops echoes).
    private void Emit(byte c) => Put(c);

    /// <summary>Processes output the replica wrote. Returns how many bytes were taken (fewer when the master's queue is full).</summary>
    public int Write(ReadOnlySpan<byte> src)
    {
        int i = 0;
        for (; i < src.Length; i++)
        {
            if (Output.Room < 8)
            {
                break;
            }

            Put(src[i]);
        }

        return i;
    }

    // do_output_char: OPOST processing of one byte and the column it leaves.
    private void Put(byte c)
    {
        ref readonly KernelTermios t = ref Termios;
        if (!t.O(Tio.OPOST))
        {
            Output.TryAdd(c);
            return;
        }

        switch (c)
        {
            case (byte)'\n':
                if (t.O(Tio.ONLRET))
                {
                    _column = 0;
                }

                if (t.O(Tio.ONLCR))
                {
                    _column = 0;
                    Output.TryAdd((byte)'\r');
                }

                Output.TryAdd(c);
                return;
            case (byte)'\r':
                if (t.O(Tio.ONOCR) && _column == 0)
                {
                    return;
                }

                if (t.O(Tio.OCRNL))
                {
                    c = (byte)'\n';
                    if (t.O(Tio.ONLRET))
                    {
                        _column = 0;
                    }
                }
                else
                {
                    _column = 0;
                }

                Output.TryAdd(c);
                return;
            case (byte)'\t':
                _column = (_column | 7) + 1;
                Output.TryAdd(c);
                return;
            case (byte)'\b':
                if (_column > 0)
                {
                    _column--;
                }

                Output.TryAdd(c);
                return;
            default:
                if (!IsControl(c))
                {
                    if (t.O(Tio.OLCUC) && c is >= (byte)'a' and <= (byte)'z')
                    {
                        c = (byte)(c - 32);
                    }

                    if ((c & 0xC0) != 0x80)
                    {
                        _column++; // not a UTF-8 continuation byte
                    }
                }

                Output.TryAdd(c);
                return;
        }
    }
}
