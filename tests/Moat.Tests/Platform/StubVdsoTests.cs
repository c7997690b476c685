using Moat.Platform.Ptrace;

namespace Moat.Tests.Platform;

public sealed class StubVdsoTests
{
    private const string Maps =
        "7f0000000000-7f0000001000 r-xp 00000000 00:01 12  /memfd:moat-stub (deleted)\n" +
        "7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0                          [vvar]\n" +
        "7ffff7ffb000-7ffff7ffd000 r--p 00000000 00:00 0                          [vvar_vclock]\n" +
        "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]\n" +
        "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n";

    [Fact]
    public void FindVdso_ReturnsStartOfVdsoMapping()
    {
        Assert.Equal(0x7ffff7ffd000UL, StubVdso.FindVdso(Maps));
        Assert.Equal(0UL, StubVdso.FindVdso("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n"));
    }

    [Fact]
    public void FindSpecial_ListsTheVdsoPagesAndVsyscallInOrder()
    {
        const string vsyscall = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
        Moat.Platform.SpecialMapping[] all = StubVdso.FindSpecial(Maps + vsyscall, withVdso: true);
        Assert.Equal(["[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"], System.Array.ConvertAll(all, m => m.Name));
        Assert.Equal(new Moat.Platform.SpecialMapping(0x7ffff7ffd000UL, 0x7ffff7fff000UL, "r-xp", "[vdso]"), all[2]);
        Assert.Equal(0xffffffffff601000UL, all[3].End);

        // Without the vDSO (MOAT_VDSO=0) only the vsyscall page is left.
        Moat.Platform.SpecialMapping[] none = StubVdso.FindSpecial(Maps + vsyscall, withVdso: false);
        Assert.Equal("[vsyscall]", Assert.Single(none).Name);
    }

    [Theory]
    [InlineData("7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0 [vvar]", true)]
    [InlineData("7ffff7ffb000-7ffff7ffd000 r--p 00000000 00:00 0 [vvar_vclock]", true)]
    [InlineData("7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0 [vdso]", true)]
    [InlineData("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]", false)]
    [InlineData("7f0000000000-7f0000001000 r-xp 00000000 00:01 12 /memfd:[vdso] (deleted)", false)]
    public void IsVdsoMapping_OnlyTheHostSpecialMappings(string line, bool expected)
    {
        Assert.Equal(expected, StubVdso.IsVdsoMapping(line));
    }
}
