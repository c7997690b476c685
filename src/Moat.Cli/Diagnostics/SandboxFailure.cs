using Moat.Abi;
using Moat.Host;

namespace Moat.Cli.Diagnostics;

/// <summary>
/// When the sandbox itself fails (its gofer or its Sentry killed from outside, or crashed), <c>moat do</c>
/// says so in one line on its stderr and exits with <see cref="ExitStatus"/>, never with a status the
/// program could have produced by dying (128 + N) or not starting (126, 127). 125 is docker run's "the
/// runtime failed" as well.
/// </summary>
internal static class SandboxFailure
{
    /// <summary>The exit status of <c>moat do</c> when the sandbox failed, not the program.</summary>
    public const int ExitStatus = 125;

    /// <summary>"killed by SIGKILL" or "exited with status N" for a wait status, seen through a launcher that exits with 128 + N.</summary>
    public static string How(int waitStatus, out int signal)
    {
        signal = HostProcess.WIfSignaled(waitStatus) ? HostProcess.WTermSig(waitStatus)
            : HostProcess.WExitStatus(waitStatus) > 128 ? HostProcess.WExitStatus(waitStatus) - 128 : 0;
        return signal > 0 ? "was killed by " + Signal.Name(signal) : "exited with status " + HostProcess.WExitStatus(waitStatus).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
