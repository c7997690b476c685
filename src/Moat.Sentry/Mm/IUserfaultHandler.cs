namespace Moat.Sentry.Mm;

/// <summary>
/// A userfaultfd that a range of VMAs is registered with (Linux's vm_userfaultfd_ctx, missing mode): a page that
/// the range lacks is not zero-filled at the first touch but waited for, until the handler fills it.
/// </summary>
/// <remarks>The MemoryManager calls <see cref="WaitForPage"/> with no lock held.</remarks>
internal interface IUserfaultHandler
{
    /// <summary>
    /// Holds the current task until the page at <paramref name="address"/> is filled or woken (or the
    /// userfaultfd is closed), as Linux's handle_userfault. <paramref name="write"/> says whether the access
    /// writes; <paramref name="user"/> whether the app's own instruction faulted (false for the Sentry's
    /// copies on the app's behalf). Returns 0 when the access may be retried, -EFAULT when a copy must fail
    /// (interrupted by a signal, or a userfaultfd for user-mode faults only), or -SIGBUS for the app
    /// (UFFD_FEATURE_SIGBUS, or a task that cannot wait).
    /// </summary>
    long WaitForPage(ulong address, bool write, bool user);
}
