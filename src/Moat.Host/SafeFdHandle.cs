using System;
using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>
/// A host file descriptor owned by Moat. fd 0 is valid, so the invalid value is -1
/// (not <see cref="Microsoft.Win32.SafeHandles.SafeHandleZeroOrMinusOneIsInvalid"/>).
/// </summary>
public class SafeFdHandle : SafeHandle
{
    public SafeFdHandle()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    public SafeFdHandle(int fd, bool ownsHandle = true)
        : base(new IntPtr(-1), ownsHandle)
    {
        SetHandle(new IntPtr(fd));
    }

    public override bool IsInvalid => (long)handle < 0 || (long)handle > int.MaxValue;

    /// <summary>The raw descriptor. Valid only while the handle is alive and not disposed.</summary>
    public int Fd => (int)(long)handle;

    protected override bool ReleaseHandle()
    {
        // close(2) is not retried on EINTR: on Linux the descriptor is released anyway.
        return Interop.Libc.close((int)(long)handle) == 0;
    }
}
