using System.Text;
using Moat.Abi;

namespace Moat.Tests.Abi;

public sealed class LinuxStringTests
{
    [Theory]
    [InlineData(new byte[] { 0x61, 0x62, 0x63 })]
    [InlineData(new byte[] { 0x61, 0x62, 0x63, 0xff })]                 // the environment of test_undecodable_env
    [InlineData(new byte[] { 0xc3, 0xa9, 0x2f, 0xe2, 0x82, 0xac })]     // é/€: valid UTF-8
    [InlineData(new byte[] { 0xc3, 0x28, 0x80, 0xfe, 0xed, 0xb2, 0x80 })] // broken sequences, an encoded surrogate
    [InlineData(new byte[] { 0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f })]     // an emoji, then a truncated one
    [InlineData(new byte[] { })]
    public void Bytes_RoundTripExactly(byte[] bytes)
    {
        string s = LinuxString.Encoding.GetString(bytes);
        Assert.Equal(bytes, LinuxString.Encoding.GetBytes(s));
        Assert.Equal(bytes.Length, LinuxString.Encoding.GetByteCount(s));
    }

    [Fact]
    public void ValidUtf8_DecodesAsUtf8()
    {
        byte[] b = Encoding.UTF8.GetBytes("héllo, wörld €😀");
        Assert.Equal("héllo, wörld €😀", LinuxString.Encoding.GetString(b));
    }

    [Fact]
    public void InvalidByte_BecomesLoneSurrogate()
    {
        Assert.Equal("abc\udcff", LinuxString.Encoding.GetString([0x61, 0x62, 0x63, 0xff]));
    }

    [Fact]
    public void ForeignLoneSurrogate_EncodesAsReplacementCharacter()
    {
        Assert.Equal(new byte[] { 0x61, 0xef, 0xbf, 0xbd }, LinuxString.Encoding.GetBytes("a\ud800"));
    }
}
