using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>A process to start in a running sandbox (an OCI exec): what to run and as whom.</summary>
public sealed class SandboxProcessSpec
{
    /// <summary>The program and its arguments; argv[0] is looked up on PATH when it has no slash.</summary>
    public required IReadOnlyList<string> Argv { get; init; }

    /// <summary>The environment, as KEY=VALUE strings.</summary>
    public required IReadOnlyList<string> Environment { get; init; }

    /// <summary>The working directory inside the sandbox.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>The identity; null: the host's uid and gid, as <c>moat do</c> runs.</summary>
    public SandboxIdentity? Identity { get; init; }

    /// <summary>Resource limits set before the program runs.</summary>
    public IReadOnlyList<SandboxRlimit> Rlimits { get; init; } = [];

    /// <summary>Start with no_new_privs set (prctl PR_SET_NO_NEW_PRIVS).</summary>
    public bool NoNewPrivileges { get; init; }

    /// <summary>The file mode creation mask (OCI process.user.umask); null: 022, the runtime's own.</summary>
    public int? Umask { get; init; }

    /// <summary>A seccomp profile (OCI linux.seccomp) installed before the program's first instruction; null: none.</summary>
    public SeccompPolicy? Seccomp { get; init; }

    /// <summary>
    /// stdio[0] is a host terminal (OCI process.terminal): the process gets a pty of the sandbox on fds 0-2,
    /// as its controlling terminal, and the pty's master side is bridged to the host terminal.
    /// </summary>
    public bool Terminal { get; init; }
}
