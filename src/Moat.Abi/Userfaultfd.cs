using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>userfaultfd constants (include/uapi/linux/userfaultfd.h), as x86-64 sees them.</summary>
public static class Uffd
{
    /// <summary>userfaultfd(2)'s flag: only faults of user-mode code are handled (the kernel's own copies get EFAULT).</summary>
    public const int UFFD_USER_MODE_ONLY = 1;

    public const ulong UFFD_API = 0xAA;

    // The ioctls: _IOWR/_IOR(0xAA, nr, struct).
    public const uint UFFDIO_API = 0xC018AA3F;
    public const uint UFFDIO_REGISTER = 0xC020AA00;
    public const uint UFFDIO_UNREGISTER = 0x8010AA01;
    public const uint UFFDIO_WAKE = 0x8010AA02;
    public const uint UFFDIO_COPY = 0xC028AA03;
    public const uint UFFDIO_ZEROPAGE = 0xC020AA04;

    /// <summary>/dev/userfaultfd's one ioctl: a new userfaultfd, its argument the flags of userfaultfd(2).</summary>
    public const uint USERFAULTFD_IOC_NEW = 0xAA00;

    // Bit numbers of the ioctls, for the ioctls masks UFFDIO_API and UFFDIO_REGISTER report.
    public const int _UFFDIO_REGISTER = 0x00;
    public const int _UFFDIO_UNREGISTER = 0x01;
    public const int _UFFDIO_WAKE = 0x02;
    public const int _UFFDIO_COPY = 0x03;
    public const int _UFFDIO_ZEROPAGE = 0x04;
    public const int _UFFDIO_API = 0x3F;

    public const ulong UFFDIO_REGISTER_MODE_MISSING = 1UL << 0;
    public const ulong UFFDIO_REGISTER_MODE_WP = 1UL << 1;
    public const ulong UFFDIO_REGISTER_MODE_MINOR = 1UL << 2;

    public const ulong UFFDIO_COPY_MODE_DONTWAKE = 1UL << 0;
    public const ulong UFFDIO_COPY_MODE_WP = 1UL << 1;
    public const ulong UFFDIO_ZEROPAGE_MODE_DONTWAKE = 1UL << 0;

    public const ulong UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1UL << 0;
    public const ulong UFFD_FEATURE_EVENT_FORK = 1UL << 1;
    public const ulong UFFD_FEATURE_EVENT_REMAP = 1UL << 2;
    public const ulong UFFD_FEATURE_EVENT_REMOVE = 1UL << 3;
    public const ulong UFFD_FEATURE_MISSING_HUGETLBFS = 1UL << 4;
    public const ulong UFFD_FEATURE_MISSING_SHMEM = 1UL << 5;
    public const ulong UFFD_FEATURE_EVENT_UNMAP = 1UL << 6;
    public const ulong UFFD_FEATURE_SIGBUS = 1UL << 7;
    public const ulong UFFD_FEATURE_THREAD_ID = 1UL << 8;
    public const ulong UFFD_FEATURE_EXACT_ADDRESS = 1UL << 11;

    public const byte UFFD_EVENT_PAGEFAULT = 0x12;
    public const ulong UFFD_PAGEFAULT_FLAG_WRITE = 1UL << 0;
}

/// <summary>struct uffdio_api.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct UffdioApi
{
    public ulong api;
    public ulong features;
    public ulong ioctls;
}

/// <summary>struct uffdio_range.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct UffdioRange
{
    public ulong start;
    public ulong len;
}

/// <summary>struct uffdio_register: the range and mode are read, ioctls (the last 8 bytes) written back.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct UffdioRegister
{
    public UffdioRange range;
    public ulong mode;
    public ulong ioctls;
}

/// <summary>struct uffdio_copy: copy (the last 8 bytes) is written back.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct UffdioCopy
{
    public ulong dst;
    public ulong src;
    public ulong len;
    public ulong mode;
    public long copy;
}

/// <summary>struct uffdio_zeropage: zeropage (the last 8 bytes) is written back.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct UffdioZeropage
{
    public UffdioRange range;
    public ulong mode;
    public long zeropage;
}

/// <summary>struct uffd_msg (32 bytes, packed) as a page fault fills it.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct UffdMsg
{
    [FieldOffset(0)] public byte @event;
    [FieldOffset(8)] public ulong flags;
    [FieldOffset(16)] public ulong address;
    [FieldOffset(24)] public uint ptid;
}
