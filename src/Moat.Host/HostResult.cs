using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>
/// Host calls return Linux's raw convention: a non-negative value on success, -errno on failure.
/// Keeping errno as a value lets the Sentry hand it to the guest unchanged.
/// </summary>
internal static class HostResult
{
    internal static long FromLong(long r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;

    internal static long FromInt(int r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;

    internal static long FromNint(nint r) => r < 0 ? -Marshal.GetLastPInvokeError() : r;
}
