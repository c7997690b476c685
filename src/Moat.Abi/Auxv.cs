namespace Moat.Abi;

/// <summary>Auxiliary vector keys (include/uapi/linux/auxvec.h, arch/x86/include/uapi/asm/auxvec.h).</summary>
public static class Auxv
{
    public const ulong AT_NULL = 0;
    public const ulong AT_IGNORE = 1;
    public const ulong AT_EXECFD = 2;
    public const ulong AT_PHDR = 3;
    public const ulong AT_PHENT = 4;
    public const ulong AT_PHNUM = 5;
    public const ulong AT_PAGESZ = 6;
    public const ulong AT_BASE = 7;
    public const ulong AT_FLAGS = 8;
    public const ulong AT_ENTRY = 9;
    public const ulong AT_NOTELF = 10;
    public const ulong AT_UID = 11;
    public const ulong AT_EUID = 12;
    public const ulong AT_GID = 13;
    public const ulong AT_EGID = 14;
    public const ulong AT_PLATFORM = 15;
    public const ulong AT_HWCAP = 16;
    public const ulong AT_CLKTCK = 17;
    public const ulong AT_SECURE = 23;
    public const ulong AT_BASE_PLATFORM = 24;
    public const ulong AT_RANDOM = 25;
    public const ulong AT_HWCAP2 = 26;
    public const ulong AT_RSEQ_FEATURE_SIZE = 27;
    public const ulong AT_RSEQ_ALIGN = 28;
    public const ulong AT_EXECFN = 31;
    public const ulong AT_SYSINFO_EHDR = 33;
    public const ulong AT_MINSIGSTKSZ = 51;
}
