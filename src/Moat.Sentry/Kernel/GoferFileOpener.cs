using Moat.Gofer;
using Moat.Host;

namespace Moat.Sentry.Kernel;

/// <summary>Opens host files through the gofer: the root's, and the volumes'.</summary>
internal sealed class GoferFileOpener : IFileOpener, IVolumeTree
{
    private readonly GoferClient _client;

    public GoferFileOpener(GoferClient client)
    {
        _client = client;
    }

    public SafeFdHandle? Open(string path, int flags, out long error) => _client.Open(path, flags, out error);

    public SafeFdHandle? Open(string path, int flags, out string? resolved, out long error) => _client.Open(path, flags, out resolved, out error);

    public string? ReadLink(string path, out long error) => _client.ReadLink(path, out error);

    public SafeFdHandle? Open(int root, string rel, int flags, int mode, out long error) => _client.Open(root, rel, flags, mode, out error);

    public string? ReadLink(int root, string rel, out long error) => _client.ReadLink(root, rel, out error);

    public long Change(in GoferRequest request) => _client.Change(request);

    public long Change(in GoferRequest request, int fileFd) => _client.Change(request, fileFd);
}
