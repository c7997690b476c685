using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Tests.Kernel;

/// <summary>A host file opener that finds nothing: for tests that need no host files.</summary>
internal sealed class NoFiles : IFileOpener
{
    public SafeFdHandle? Open(string path, int flags, out long error)
    {
        error = -Errno.ENOENT.Value;
        return null;
    }

    public string? ReadLink(string path, out long error)
    {
        error = -Errno.ENOENT.Value;
        return null;
    }
}
