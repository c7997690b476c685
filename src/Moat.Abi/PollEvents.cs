namespace Moat.Abi;

/// <summary>poll(2) and epoll(7) event bits.</summary>
public static class PollEvents
{
    public const int POLLIN = 0x001;
    public const int POLLPRI = 0x002;
    public const int POLLOUT = 0x004;
    public const int POLLERR = 0x008;
    public const int POLLHUP = 0x010;
    public const int POLLNVAL = 0x020;
    public const int POLLRDNORM = 0x040;
    public const int POLLRDBAND = 0x080;
    public const int POLLWRNORM = 0x100;
    public const int POLLWRBAND = 0x200;
    public const int POLLRDHUP = 0x2000;

    public const uint EPOLLEXCLUSIVE = 1u << 28;
    public const uint EPOLLWAKEUP = 1u << 29;
    public const uint EPOLLONESHOT = 1u << 30;
    public const uint EPOLLET = 1u << 31;
}
