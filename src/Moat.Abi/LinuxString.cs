using System;
using System.Text;

namespace Moat.Abi;

/// <summary>
/// Linux strings (paths, argv, environment, names) are bytes, usually but not always UTF-8. The Sentry
/// holds them as .NET strings, so it decodes them losslessly: valid UTF-8 as UTF-8, and each byte of an
/// invalid sequence as a lone surrogate U+DC80..U+DCFF (Python's "surrogateescape"). Encoding turns those
/// surrogates back into the same bytes, so a name or an environment variable crosses the Sentry unchanged.
/// Valid UTF-8 can never decode to a lone surrogate, so no two byte strings share a .NET string.
/// </summary>
public static class LinuxString
{
    /// <summary>The lossless UTF-8 encoding: use it wherever bytes from or to the application become strings.</summary>
    public static Encoding Encoding { get; } = new SurrogateEscapeUtf8();

    private sealed class SurrogateEscapeUtf8 : Encoding
    {
        private const int EscapeBase = 0xDC00;

        public override string EncodingName => "UTF-8 (surrogateescape)";

        public override int GetMaxByteCount(int charCount) => checked((charCount + 1) * 3);

        public override int GetMaxCharCount(int byteCount) => checked(byteCount + 1);

        public override int GetByteCount(char[] chars, int index, int count) => ByteCount(chars.AsSpan(index, count));

        public override unsafe int GetByteCount(char* chars, int count) => ByteCount(new ReadOnlySpan<char>(chars, count));

        public override int GetBytes(char[] chars, int charIndex, int charCount, byte[] bytes, int byteIndex) =>
            Encode(chars.AsSpan(charIndex, charCount), bytes.AsSpan(byteIndex));

        public override unsafe int GetBytes(char* chars, int charCount, byte* bytes, int byteCount) =>
            Encode(new ReadOnlySpan<char>(chars, charCount), new Span<byte>(bytes, byteCount));

        public override int GetCharCount(byte[] bytes, int index, int count) => Decode(bytes.AsSpan(index, count), Span<char>.Empty, countOnly: true);

        public override unsafe int GetCharCount(byte* bytes, int count) => Decode(new ReadOnlySpan<byte>(bytes, count), Span<char>.Empty, countOnly: true);

        public override int GetChars(byte[] bytes, int byteIndex, int byteCount, char[] chars, int charIndex) =>
            Decode(bytes.AsSpan(byteIndex, byteCount), chars.AsSpan(charIndex), countOnly: false);

        public override unsafe int GetChars(byte* bytes, int byteCount, char* chars, int charCount) =>
            Decode(new ReadOnlySpan<byte>(bytes, byteCount), new Span<char>(chars, charCount), countOnly: false);

        private static int ByteCount(ReadOnlySpan<char> chars)
        {
            int n = 0;
            while (!chars.IsEmpty)
            {
                if (Rune.DecodeFromUtf16(chars, out Rune r, out int used) == System.Buffers.OperationStatus.Done)
                {
                    n += r.Utf8SequenceLength;
                }
                else
                {
                    n += IsEscape(chars[0]) ? 1 : 3;
                    used = 1;
                }

                chars = chars[used..];
            }

            return n;
        }

        private static int Encode(ReadOnlySpan<char> chars, Span<byte> bytes)
        {
            int n = 0;
            while (!chars.IsEmpty)
            {
                if (Rune.DecodeFromUtf16(chars, out Rune r, out int used) == System.Buffers.OperationStatus.Done)
                {
                    n += r.EncodeToUtf8(bytes[n..]);
                }
                else if (IsEscape(chars[0]))
                {
                    bytes[n++] = (byte)(chars[0] - EscapeBase);
                    used = 1;
                }
                else
                {
                    n += Rune.ReplacementChar.EncodeToUtf8(bytes[n..]); // a lone surrogate not of our making
                    used = 1;
                }

                chars = chars[used..];
            }

            return n;
        }

        private static int Decode(ReadOnlySpan<byte> bytes, Span<char> chars, bool countOnly)
        {
            int n = 0;
            while (!bytes.IsEmpty)
            {
                if (Rune.DecodeFromUtf8(bytes, out Rune r, out int used) == System.Buffers.OperationStatus.Done)
                {
                    n += countOnly ? r.Utf16SequenceLength : r.EncodeToUtf16(chars[n..]);
                }
                else
                {
                    if (!countOnly)
                    {
                        chars[n] = (char)(EscapeBase + bytes[0]);
                    }

                    n++;
                    used = 1;
                }

                bytes = bytes[used..];
            }

            return n;
        }

        private static bool IsEscape(char c) => c >= EscapeBase + 0x80 && c <= EscapeBase + 0xFF;
    }
}
