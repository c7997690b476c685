using Moat.Sentry.Vfs;

namespace Moat.Tests.Vfs;

public class PathStepTests
{
    [Theory]
    [InlineData("/v", "../etc/hostname", "/etc/hostname")]
    [InlineData("/v/sub", "../../etc/hostname", "/etc/hostname")]
    [InlineData("/v/sub", "../f", "/v/f")]
    [InlineData("/v", "../../../x", "/x")]
    [InlineData("/v", "./f", "/v/f")]
    [InlineData("/v/", "../x", "/x")]
    [InlineData("/", "x", "/x")]
    [InlineData("/", "../x", "/x")]
    [InlineData("/v", "..", "/")]
    [InlineData("/v/sub", "..", "/v")]
    [InlineData("/v", ".../x", "/v/.../x")]
    [InlineData("/v", "..x", "/v/..x")]
    [InlineData("/v", "a/../b", "/v/a/../b")]
    [InlineData("/v", "../a/", "/a/")]
    [InlineData("/v", "/abs/x", "/abs/x")]
    public void LinkTarget_LeadingDotsApplyToTheDirectory_TheRestIsKept(string dir, string target, string expected)
    {
        Assert.Equal(expected, PathStep.LinkTarget(dir, target));
    }
}
