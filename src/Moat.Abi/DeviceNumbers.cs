namespace Moat.Abi;

/// <summary>Linux's dev_t encoding (glibc's gnu_dev_major/gnu_dev_minor): 12 bits of major and 20 of minor, split.</summary>
public static class DeviceNumbers
{
    public static uint Major(ulong dev) => (uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));

    public static uint Minor(ulong dev) => (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL));
}
