using Moat.Sentry.Vfs.Inotify;

namespace Moat.Tests.Vfs.Inotify;

public class DnotifyTests
{
    [Theory]
    [InlineData("/tmp/d/a", "/tmp/d/b", true)]
    [InlineData("/tmp/d/a", "/tmp/d//b", true)]
    [InlineData("/tmp/d/./a", "/tmp/d/b", true)]
    [InlineData("/tmp/d/a", "/tmp/b", false)]
    [InlineData("/tmp/d/a", "/tmp/e/a", false)]
    [InlineData("/a", "/b", true)]
    public void SameDirectory_ComparesParents(string a, string b, bool same) =>
        Assert.Equal(same, Dnotify.SameDirectory(a, b));
}
