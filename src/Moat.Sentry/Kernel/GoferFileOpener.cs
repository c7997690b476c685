using Moat.Gofer;
using Moat.Host;

namespace Moat.Sentry.Kernel;

/// <summary>Opens host files through the gofer.</summary>
internal sealed class GoferFileOpener : IFileOpener
{
    private readonly GoferClient _client;

    public GoferFileOpener(GoferClient client)
    {
        _client = client;
    }

    public SafeFdHandle? Open(string path, int flags, out long error) => _client.Open(path, flags, out error);

    public string? ReadLink(string path, out long error) => _client.ReadLink(path, out error);
}
