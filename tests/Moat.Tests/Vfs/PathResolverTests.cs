using System;
using Moat.Sentry.Vfs;

namespace Moat.Tests.Vfs;

public class PathResolverTests
{
    [Theory]
    [InlineData("/a/./b/../c//d", "/a/c/d")]
    [InlineData("/..", "/")]
    [InlineData("/../../x", "/x")]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    [InlineData("/a/b/", "/a/b")]
    [InlineData("/a/b/..", "/a")]
    [InlineData("/a/b/../..", "/")]
    [InlineData("/a/b/../../../..", "/")]
    [InlineData("/./.", "/")]
    [InlineData("/tmp//x", "/tmp/x")]
    [InlineData("/a/...", "/a/...")]
    [InlineData("/a/..b/.c", "/a/..b/.c")]
    [InlineData("/a/.", "/a")]
    [InlineData("/a/..", "/")]
    [InlineData("/.hidden", "/.hidden")]
    [InlineData("a/b", "/a/b")]
    public void Normalize_Path_ReturnsLexicallyCleanPath(string input, string expected)
    {
        Assert.Equal(expected, PathResolver.Normalize(input));
    }

    [Theory]
    [InlineData("/a/./b/../c//d", "/a/b/../c/d")]
    [InlineData("/", "/")]
    [InlineData("//", "/")]
    [InlineData("/./.", "/")]
    [InlineData("/..", "/..")]
    [InlineData("/a/b/", "/a/b")]
    [InlineData("/usr//bin/./sh", "/usr/bin/sh")]
    [InlineData("/a/.../b", "/a/.../b")]
    public void Clean_Path_DropsDotsAndDuplicateSlashesButKeepsDotDot(string input, string expected)
    {
        Assert.Equal(expected, PathResolver.Clean(input));
    }

    [Fact]
    public void Normalize_AlreadyNormal_IsUnchanged()
    {
        const string p = "/usr/lib/x86_64-linux-gnu/libc.so.6";

        Assert.Same(p, PathResolver.Normalize(p));
        Assert.Equal(p, PathResolver.Clean(p));
    }

    [Fact]
    public void Normalize_AppliedTwice_IsIdempotent()
    {
        string once = PathResolver.Normalize("/a/../b/./c/../../d//e");

        Assert.Equal("/d/e", once);
        Assert.Equal(once, PathResolver.Normalize(once));
        Assert.Equal(once, PathResolver.Clean(once));
    }
}
