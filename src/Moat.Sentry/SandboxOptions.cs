using System.Collections.Generic;

namespace Moat.Sentry;

/// <summary>What <c>moat do</c> asks the Sentry to run.</summary>
public sealed class SandboxOptions
{
    /// <summary>The program and its arguments; argv[0] is looked up on PATH when it has no slash.</summary>
    public required IReadOnlyList<string> Argv { get; init; }

    /// <summary>The environment, as KEY=VALUE strings.</summary>
    public required IReadOnlyList<string> Environment { get; init; }

    /// <summary>The working directory inside the sandbox.</summary>
    public required string WorkingDirectory { get; init; }

    /// <summary>Log every syscall to stderr.</summary>
    public bool Strace { get; init; }

    /// <summary>When set, a per-syscall profile is written to this file when the sandbox ends.</summary>
    public string? ProfilePath { get; init; }

    /// <summary>The most tasks the sandbox may hold at once (0: no limit): fork and clone beyond it fail with EAGAIN.</summary>
    public int MaxTasks { get; init; }

    /// <summary>The most bytes of memory the sandbox may hold (0: no limit); beyond it a faulting process is killed.</summary>
    public ulong MemoryLimit { get; init; }

    /// <summary>Which network internet sockets reach (--network).</summary>
    public NetworkMode Network { get; init; } = NetworkMode.None;

    /// <summary>The host name inside the sandbox.</summary>
    public string Hostname { get; init; } = "moat";
}

/// <summary>The networks of <c>moat do --network</c>.</summary>
public enum NetworkMode
{
    /// <summary>Only a loopback interface, served by the Sentry.</summary>
    None,

    /// <summary>Internet sockets are host sockets the Sentry operates for the application.</summary>
    Host,
}
