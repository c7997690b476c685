using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Inode numbers of namespaces made inside the sandbox, as /proc/PID/ns links show them ("mnt:[N]",
/// "pid:[N]"): one counter for every kind, above the numbers of the sandbox's initial namespaces, so two
/// namespaces never share a number (Linux's proc_alloc_inum).
/// </summary>
internal static class NamespaceInodes
{
    private static long s_next = 0xF0000000;

    /// <summary>A number no namespace has had yet.</summary>
    public static ulong Next() => (ulong)Interlocked.Increment(ref s_next);
}
