using System;
using System.IO;
using System.Threading;
using Moat.Gofer;
using Moat.Host;
using Moat.Sentry.Kernel;

namespace Moat.Tests.Vfs.HostCache;

/// <summary>
/// A scratch directory served as the sandbox's host root by a real <see cref="GoferServer"/> (called
/// directly, no socket), counting how often the Sentry asks it.
/// </summary>
internal sealed class HostRoot : IFileOpener, IDisposable
{
    private readonly SafeFdHandle _rootFd;
    private readonly GoferServer _server;
    private int _calls;

    public HostRoot()
    {
        Dir = Path.Combine(Path.GetTempPath(), "moat-dcache-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        _rootFd = GoferServer.OpenRoot(Dir, out long err) ?? throw new InvalidOperationException("OpenRoot: " + err);
        _server = new GoferServer(_rootFd, -1);
    }

    /// <summary>The root's host path.</summary>
    public string Dir { get; }

    /// <summary>Requests served so far (opens and readlinks).</summary>
    public int Calls => _calls;

    /// <summary>The host path of a sandbox path.</summary>
    public string HostPath(string sandboxPath) => Path.Combine(Dir, sandboxPath.TrimStart('/'));

    public SafeFdHandle? Open(string path, int flags, out long error)
    {
        Interlocked.Increment(ref _calls);
        long r = _server.Open(path, flags);
        error = r < 0 ? r : 0;
        return r < 0 ? null : new SafeFdHandle((int)r);
    }

    public string? ReadLink(string path, out long error)
    {
        Interlocked.Increment(ref _calls);
        return _server.ReadLink(path, out error);
    }

    public void Dispose()
    {
        _rootFd.Dispose();
        Directory.Delete(Dir, recursive: true);
    }
}
