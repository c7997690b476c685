using System;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli;

/// <summary>
/// <c>moat do --confine=full</c>: once in its jail (<see cref="SentryJail"/>), the Sentry installs its own
/// seccomp allow-list (<see cref="SentrySyscalls"/>) on every thread, which also gives every thread
/// no_new_privs. A call not on the list is never made: it raises SIGSYS (SECCOMP_RET_TRAP), which the
/// Sentry does not handle and so dies of, as it would of SECCOMP_RET_KILL_PROCESS. Trap rather than kill
/// because the stubs inherit the filter: under systrap an app thread's own filter traps every call to the
/// stub's SIGSYS handler, and a kill, which outranks a trap, would end the app instead.
/// MOAT_SECCOMP=off skips the filter (no_new_privs stays), MOAT_SECCOMP=log allows and logs what the list
/// lacks (to the kernel's audit log), for measuring.
/// </summary>
internal static class SentryConfinement
{
    private const uint RetLog = 0x7FFC0000;

    public static bool Enter(out string? error)
    {
        error = null;
        string? mode = Environment.GetEnvironmentVariable("MOAT_SECCOMP");
        long r;
        if (mode == "off")
        {
            r = HostSeccomp.SetNoNewPrivs();
        }
        else
        {
            uint action = mode switch { "log" => RetLog, "kill" => SeccompProgram.RetKillProcess, _ => SeccompProgram.RetTrap };
            r = HostSeccomp.Install(SeccompProgram.Compile(SentrySyscalls.Rules, action));
            if (r > 0)
            {
                error = $"seccomp: thread {r} could not be synchronised";
                return false;
            }
        }

        if (r < 0)
        {
            error = "seccomp: " + Errno.FromValue((int)-r).Name;
            return false;
        }

        return true;
    }
}
