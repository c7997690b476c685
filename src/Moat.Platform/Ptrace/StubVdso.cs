using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Moat.Abi;
using Moat.Host;

namespace Moat.Platform.Ptrace;

/// <summary>
/// The host's vDSO, left mapped in every stub so that clock_gettime, gettimeofday, time and getcpu run in the
/// app without a stop (a ptrace round trip costs microseconds; the vDSO call tens of nanoseconds).
/// <para>
/// Why this is safe: the vDSO is read-only code that reads the read-only [vvar] time pages; it makes no
/// host syscall the app could not already make. Its fallback path executes <c>syscall</c>, which stops under
/// PTRACE_SYSEMU like any other app syscall and is served by the Sentry. The app learns the host's clocks,
/// which clock_gettime already tells it.
/// </para>
/// <para>
/// Why the address is the same in every stub: stubs are spawned with ADDR_NO_RANDOMIZE (set per spawning
/// thread: personality is a per-thread attribute inherited by the child), so the host places the vDSO at
/// one address for the one stub binary. A forked child's stub then has its vDSO where the parent's libc
/// expects it. A stub whose vDSO is elsewhere is refused rather than run with a dangling AT_SYSINFO_EHDR.
/// </para>
/// <para><c>MOAT_VDSO=0</c> turns this off: the vDSO is unmapped and programs make real clock syscalls.</para>
/// </summary>
internal static class StubVdso
{
    private const uint AddrNoRandomize = 0x0040000;

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("MOAT_VDSO") != "0";

    /// <summary>Makes the calling thread's future children (stubs) start with the fixed address layout.</summary>
    public static void FixLayoutForChildren()
    {
        long current = HostProcess.Syscall(Sysno.personality, 0xffffffff);
        if (current >= 0 && (current & AddrNoRandomize) == 0)
        {
            HostProcess.Syscall(Sysno.personality, current | AddrNoRandomize);
        }
    }

    /// <summary>True for the host's special mappings that make up the vDSO: [vdso], [vvar], [vvar_vclock].</summary>
    public static bool IsVdsoMapping(string mapsLine) =>
        mapsLine.EndsWith("[vdso]", StringComparison.Ordinal) ||
        mapsLine.EndsWith("[vvar]", StringComparison.Ordinal) ||
        mapsLine.EndsWith("[vvar_vclock]", StringComparison.Ordinal);

    /// <summary>The start of the [vdso] mapping in a /proc/PID/maps text, or 0.</summary>
    public static ulong FindVdso(string maps)
    {
        foreach (string line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.EndsWith("[vdso]", StringComparison.Ordinal))
            {
                int dash = line.IndexOf('-', StringComparison.Ordinal);
                return ulong.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>
    /// The host's special mappings in a /proc/PID/maps text, in address order: the vDSO's ([vvar], [vvar_vclock],
    /// [vdso]) when <paramref name="withVdso"/>, and [vsyscall].
    /// </summary>
    public static SpecialMapping[] FindSpecial(string maps, bool withVdso)
    {
        var found = new List<SpecialMapping>();
        foreach (string line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!(withVdso && IsVdsoMapping(line)) && !line.EndsWith("[vsyscall]", StringComparison.Ordinal))
            {
                continue;
            }

            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int dash = f[0].IndexOf('-', StringComparison.Ordinal);
            if (f.Length < 6 || dash < 0)
            {
                continue;
            }

            found.Add(new SpecialMapping(
                ulong.Parse(f[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                ulong.Parse(f[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                f[1],
                f[^1]));
        }

        return [.. found];
    }

    /// <summary>
    /// Spawns a throw-away stub to learn where the host puts its vDSO (0 if it has none, or it is turned off) and
    /// which special mappings every stub shows.
    /// </summary>
    public static VdsoLayout Probe(StubTemplate template)
    {
        if (!Enabled)
        {
            return new VdsoLayout(0, FindSpecial(ReadMaps("/proc/self/maps"), withVdso: false));
        }

        FixLayoutForChildren();
        int pid = HostSpawn.Spawn(template.Path, ["moat-stub-probe"], [], [], [0, 1, 2], newSession: true);
        if (pid < 0)
        {
            return new VdsoLayout(0, []);
        }

        try
        {
            string maps = ReadMaps("/proc/" + pid.ToString(CultureInfo.InvariantCulture) + "/maps");
            ulong vdso = FindVdso(maps);
            return new VdsoLayout(vdso, FindSpecial(maps, withVdso: vdso != 0));
        }
        finally
        {
            HostProcess.Kill(pid, Signal.SIGKILL);
            HostProcess.WaitPid(pid, out _, 0);
        }
    }

    private static string ReadMaps(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}

/// <summary>Where the host's vDSO sits in every stub (0 for none) and the special mappings stubs show.</summary>
public readonly record struct VdsoLayout(ulong Address, SpecialMapping[] Mappings);
