using Moat.Cli.Oci;

namespace Moat.Tests.Oci;

public sealed class OciCpuListTests
{
    [Theory]
    [InlineData("0", 0x1UL)]
    [InlineData("0-2", 0x7UL)]
    [InlineData("1,3-4", 0x1AUL)]
    [InlineData(" 5 ", 0x20UL)]
    [InlineData("63", 1UL << 63)]
    public void CpuList_ParsesToAMask(string list, ulong mask)
    {
        Assert.True(OciResourceLimits.TryParseCpuList(list, out ulong got));
        Assert.Equal(mask, got);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("3-1")]
    [InlineData("1-2-3")]
    [InlineData("64")]
    [InlineData("-1")]
    public void CpuList_Malformed_IsRefused(string list)
    {
        Assert.False(OciResourceLimits.TryParseCpuList(list, out _));
    }
}
