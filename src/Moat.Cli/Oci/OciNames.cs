using System;

namespace Moat.Cli.Oci;

/// <summary>Linux names the OCI spec uses: capabilities, rlimits and signals.</summary>
internal static class OciNames
{
    // Indexed by capability number (linux/capability.h), up to CAP_CHECKPOINT_RESTORE (40).
    private static readonly string[] s_capabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ];

    // Indexed by RLIMIT_* number.
    private static readonly string[] s_rlimits =
    [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC",
        "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ];

    // Indexed by signal number; 0 is unused.
    private static readonly string[] s_signals =
    [
        string.Empty, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    ];

    /// <summary>The bit set of the named capabilities; false with the first unknown name.</summary>
    public static bool TryCapabilitySet(System.Collections.Generic.List<string>? names, out ulong set, out string unknown)
    {
        set = 0;
        unknown = string.Empty;
        foreach (string name in names ?? [])
        {
            int i = Array.IndexOf(s_capabilities, name.ToUpperInvariant());
            if (i < 0)
            {
                unknown = name;
                return false;
            }

            set |= 1UL << i;
        }

        return true;
    }

    public static int Rlimit(string? name) => name == null ? -1 : Array.IndexOf(s_rlimits, name.ToUpperInvariant());

    /// <summary>A signal given as a number, "TERM" or "SIGTERM" (as runc kill takes it); -1 if unknown.</summary>
    public static int Signal(string s)
    {
        if (int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n))
        {
            return n is > 0 and <= 64 ? n : -1;
        }

        string name = s.ToUpperInvariant();
        if (name.StartsWith("SIG", StringComparison.Ordinal))
        {
            name = name[3..];
        }

        int i = Array.IndexOf(s_signals, name);
        return i > 0 ? i : -1;
    }

    /// <summary>Whether a signal's default action ends the process (not ignored, not a stop or continue).</summary>
    public static bool TerminatesByDefault(int sig) => sig is not (17 or 18 or 19 or 20 or 21 or 22 or 23 or 28);
}
