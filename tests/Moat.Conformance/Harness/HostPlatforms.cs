using System;
using System.Buffers.Binary;
using System.IO;
using Xunit.Sdk;

namespace Moat.Conformance.Harness;

/// <summary>Which of Moat's platforms this host can run, decided as <c>moat do</c> decides it.</summary>
public static class HostPlatforms
{
    /// <summary>Why a systrap test does not run on a host without FSGSBASE.</summary>
    public const string NoSystrap = "the systrap platform needs FSGSBASE, which this CPU lacks";

    private const ulong AtHwcap2 = 26;
    private const ulong HwcapFsgsbase = 1UL << 1;

    // The kernel's AT_HWCAP2 FSGSBASE bit, as SystrapPlatform.IsSupported reads it: set only where the CPU has
    // the instructions and the kernel (5.9+) lets user space use them. /proc/cpuinfo shows the CPU's flag alone.
    private static readonly Lazy<bool> s_systrap = new(() => (Auxval(AtHwcap2) & HwcapFsgsbase) != 0);

    public static bool SystrapSupported => s_systrap.Value;

    /// <summary>Why a test of <paramref name="platform"/> cannot run here, or null when it can.</summary>
    public static string? SkipReason(string platform) => platform == "systrap" && !SystrapSupported ? NoSystrap : null;

    private static ulong Auxval(ulong type)
    {
        byte[] auxv = File.ReadAllBytes("/proc/self/auxv");
        for (int i = 0; i + 16 <= auxv.Length; i += 16)
        {
            if (BinaryPrimitives.ReadUInt64LittleEndian(auxv.AsSpan(i)) == type)
            {
                return BinaryPrimitives.ReadUInt64LittleEndian(auxv.AsSpan(i + 8));
            }
        }

        return 0;
    }
}

/// <summary>
/// One row of a platform theory, <c>[PlatformData("systrap")]</c> in place of <c>[InlineData("systrap")]</c>: the
/// row is skipped, with the reason, where this host cannot run the platform; the other rows still run.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class PlatformDataAttribute : DataAttribute
{
    private readonly string _platform;

    public PlatformDataAttribute(string platform)
    {
        _platform = platform;
        Skip = HostPlatforms.SkipReason(platform);
    }

    public override System.Collections.Generic.IEnumerable<object[]> GetData(System.Reflection.MethodInfo testMethod) => [[_platform]];
}

/// <summary>A fact about the systrap platform: skipped, with the reason, where this host cannot run it.</summary>
public sealed class SystrapFactAttribute : FactAttribute
{
    public SystrapFactAttribute()
    {
        Skip = HostPlatforms.SkipReason("systrap");
    }
}

/// <summary>A theory about the systrap platform: skipped, with the reason, where this host cannot run it.</summary>
public sealed class SystrapTheoryAttribute : TheoryAttribute
{
    public SystrapTheoryAttribute()
    {
        Skip = HostPlatforms.SkipReason("systrap");
    }
}
