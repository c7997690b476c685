namespace Moat.Sentry.Mm;

/// <summary>How the Sentry means to touch app memory: decides which VMA permission is required.</summary>
internal enum AccessType : byte
{
    Read,
    Write,

    /// <summary>The Sentry writes memory it maps regardless of protection (the loader, a mapping's copied-in file, syscall patches).</summary>
    Force,

    /// <summary>
    /// A write for another program regardless of protection (ptrace pokes, /proc/PID/mem), as Linux's
    /// FOLL_FORCE | FOLL_WRITE: the VMA must be one that may ever be writable (VM_MAYWRITE).
    /// </summary>
    ForceWrite,

    /// <summary>A read regardless of protection (/proc/PID/mem), as FOLL_FORCE: the VMA must only be one that may be readable (VM_MAYREAD).</summary>
    ForceRead,
}
