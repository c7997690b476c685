using System;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;
using Moat.Sentry.Pgalloc;
using Moat.Tests.Mm;

namespace Moat.Tests.Kernel;

public sealed class FutexKeyTests : IDisposable
{
    private const ulong Shared = 0x4000_0000;
    private const ulong Private = 0x5000_0000;
    private const ulong ReadOnly = 0x6000_0000;
    private const int RW = Mman.PROT_READ | Mman.PROT_WRITE;

    private readonly MemoryFile _mf = new();
    private readonly MemoryManager _mm;

    public FutexKeyTests()
    {
        _mm = new MemoryManager(_mf, new FakeAddressSpace(), 0x10000, 0x7f00_0000_0000);
        Map(Shared, RW, Mman.MAP_SHARED);
        Map(Private, RW, Mman.MAP_PRIVATE);
        Map(ReadOnly, Mman.PROT_READ, Mman.MAP_PRIVATE);
    }

    public void Dispose()
    {
        _mm.Dispose();
        _mf.Dispose();
    }

    private void Map(ulong addr, int prot, int type) =>
        Assert.Equal((long)addr, _mm.MmapAnonymous(addr, Mman.PageSize, prot, type | Mman.MAP_ANONYMOUS | Mman.MAP_FIXED));

    private static FutexKey Key(MemoryManager mm, ulong addr, bool isPrivate)
    {
        Assert.Equal(0, FutexKey.Get(mm, addr, isPrivate, write: false, out FutexKey key));
        return key;
    }

    [Fact]
    public void SharedMemory_HasTheSameKeyInAForkedChild_PrivateMemoryDoesNot()
    {
        using MemoryManager child = _mm.Fork();
        Assert.Equal(Key(_mm, Shared + 8, isPrivate: false), Key(child, Shared + 8, isPrivate: false));
        Assert.NotEqual(Key(_mm, Private, isPrivate: false), Key(child, Private, isPrivate: false));
        Assert.NotEqual(Key(_mm, Shared, isPrivate: true), Key(child, Shared, isPrivate: true));
    }

    [Fact]
    public void PrivateAndSharedOperations_OnPrivateMemory_HaveDifferentKeys()
    {
        Assert.NotEqual(Key(_mm, Private, isPrivate: true), Key(_mm, Private, isPrivate: false));
    }

    [Fact]
    public void Get_FollowsLinuxErrors()
    {
        Assert.Equal(-Errno.EINVAL.Value, FutexKey.Get(_mm, Private + 2, isPrivate: true, write: false, out _));
        Assert.Equal(-Errno.EFAULT.Value, FutexKey.Get(_mm, FutexKey.MaxAddress + 4, isPrivate: true, write: false, out _));
        Assert.Equal(0, FutexKey.Get(_mm, 0x8000, isPrivate: true, write: false, out _)); // private keys need no memory
        Assert.Equal(-Errno.EFAULT.Value, FutexKey.Get(_mm, 0x8000, isPrivate: false, write: false, out _));
        Assert.Equal(-Errno.EFAULT.Value, FutexKey.Get(_mm, ReadOnly, isPrivate: false, write: false, out _));
        Assert.Equal(0, FutexKey.Get(_mm, ReadOnly, isPrivate: true, write: false, out _));
    }
}
