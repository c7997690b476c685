using Moat.Abi;
using Moat.Host;
using Moat.Sentry.Net.Stack;

namespace Moat.Sentry.Net;

/// <summary>What <c>moat do --network=sandbox</c> uses, outside the Sentry's jail, to make the sandbox's TAP device.</summary>
public static class SandboxTap
{
    /// <summary>Creates and opens TAP device <paramref name="name"/> (non-persistent: it goes away with the last fd). Null with the errno.</summary>
    public static SafeFdHandle? Open(string name, out Errno error) => TapLink.OpenDevice(name, out error);
}
