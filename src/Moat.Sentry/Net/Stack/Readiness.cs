using Moat.Abi;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// Readiness of an endpoint, in poll(2)'s bits so that the socket layer can hand them to poll and epoll as
/// they are.
/// </summary>
internal static class Readiness
{
    public const int Readable = PollEvents.POLLIN | PollEvents.POLLRDNORM;
    public const int Writable = PollEvents.POLLOUT | PollEvents.POLLWRNORM;
    public const int Error = PollEvents.POLLERR;
    public const int HangUp = PollEvents.POLLHUP;
    public const int ReadHangUp = PollEvents.POLLRDHUP;
}

/// <summary>
/// Told when an endpoint's readiness may have changed. Called with the stack's lock held: it may only wake
/// waiters (a leaf lock such as WaitQueue._mu) and must never call back into the stack.
/// </summary>
internal interface IReadinessListener
{
    void OnReadinessChanged(int events);
}
