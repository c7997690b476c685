namespace Moat.Abi;

/// <summary>Constants of mmap(2), mprotect(2), munmap(2), madvise(2) and mremap(2).</summary>
public static class Mman
{
    public const int PROT_NONE = 0x0;
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int PROT_EXEC = 0x4;
    public const int PROT_GROWSDOWN = 0x01000000;
    public const int PROT_GROWSUP = 0x02000000;

    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_SHARED_VALIDATE = 0x03;
    public const int MAP_TYPE = 0x0f;
    public const int MAP_FIXED = 0x10;
    public const int MAP_ANONYMOUS = 0x20;
    public const int MAP_32BIT = 0x40;
    public const int MAP_GROWSDOWN = 0x0100;
    public const int MAP_DENYWRITE = 0x0800;
    public const int MAP_EXECUTABLE = 0x1000;
    public const int MAP_LOCKED = 0x2000;
    public const int MAP_NORESERVE = 0x4000;
    public const int MAP_POPULATE = 0x8000;
    public const int MAP_NONBLOCK = 0x10000;
    public const int MAP_STACK = 0x20000;
    public const int MAP_HUGETLB = 0x40000;
    public const int MAP_SYNC = 0x80000;
    public const int MAP_FIXED_NOREPLACE = 0x100000;
    public const int MAP_UNINITIALIZED = 0x4000000;

    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;
    public const int MREMAP_DONTUNMAP = 4;

    public const int MADV_NORMAL = 0;
    public const int MADV_RANDOM = 1;
    public const int MADV_SEQUENTIAL = 2;
    public const int MADV_WILLNEED = 3;
    public const int MADV_DONTNEED = 4;
    public const int MADV_FREE = 8;
    public const int MADV_REMOVE = 9;
    public const int MADV_DONTFORK = 10;
    public const int MADV_DOFORK = 11;
    public const int MADV_MERGEABLE = 12;
    public const int MADV_UNMERGEABLE = 13;
    public const int MADV_HUGEPAGE = 14;
    public const int MADV_NOHUGEPAGE = 15;
    public const int MADV_DONTDUMP = 16;
    public const int MADV_DODUMP = 17;
    public const int MADV_WIPEONFORK = 18;
    public const int MADV_KEEPONFORK = 19;
    public const int MADV_COLD = 20;
    public const int MADV_PAGEOUT = 21;
    public const int MADV_POPULATE_READ = 22;
    public const int MADV_POPULATE_WRITE = 23;
    public const int MADV_DONTNEED_LOCKED = 24;
    public const int MADV_COLLAPSE = 25;
    public const int MADV_GUARD_INSTALL = 102;
    public const int MADV_GUARD_REMOVE = 103;

    public const ulong PageSize = 4096;
    public const int PageShift = 12;
    public const ulong HugePageSize = 2 * 1024 * 1024;
}
