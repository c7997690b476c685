namespace Moat.Sentry.Mm;

/// <summary>How the Sentry means to touch app memory: decides which VMA permission is required.</summary>
internal enum AccessType : byte
{
    Read,
    Write,

    /// <summary>The kernel writes on the app's behalf regardless of protection (loader, ptrace-style pokes).</summary>
    Force,
}
