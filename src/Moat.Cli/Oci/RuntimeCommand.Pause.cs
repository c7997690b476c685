using Moat.Cli.CommandLine;

namespace Moat.Cli.Oci;

/// <summary>
/// pause and resume: the sandbox's kernel freezes every task, as runc's freezer cgroup does (no signal is
/// seen; blocked calls stay blocked), and thaws them. Allowed as runc allows them: pause of a created or
/// running container, resume of a paused one.
/// </summary>
internal static partial class RuntimeCommand
{
    private static int Pause(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        if (g.Store.Status(r) is not ("created" or "running"))
        {
            return g.Log.Error("container not running");
        }

        if (PodWide(g, r, "pause") is int refused)
        {
            return refused;
        }

        string? reply = ControlChannel.Request(g.Store.Dir(r.Id), "pause");
        return reply == "ok" ? 0 : g.Log.Error(ReplyError(reply));
    }

    private static int Resume(Globals g, ParsedArgs f)
    {
        if (One(g, f, out int status) is not ContainerRecord r)
        {
            return status;
        }

        if (g.Store.Status(r) != "paused")
        {
            return g.Log.Error("container not paused");
        }

        if (PodWide(g, r, "resume") is int refused)
        {
            return refused;
        }

        string? reply = ControlChannel.Request(g.Store.Dir(r.Id), "resume");
        return reply == "ok" ? 0 : g.Log.Error(ReplyError(reply));
    }

    // A further container of a pod shares its sandbox's kernel: freezing or limiting it alone is not offered
    // (the pod's sandbox container's pause, resume and update apply to the whole pod).
    private static int? PodWide(Globals g, ContainerRecord r, string verb) =>
        r.SandboxId != null ? g.Log.Error($"{verb} of one container of a pod is not supported: {verb} the pod's sandbox container {r.SandboxId}") : null;

    // The sandbox's "error MESSAGE" as the message, or why there was none.
    private static string ReplyError(string? reply) =>
        reply == null ? "the sandbox does not answer" : reply.StartsWith("error ", System.StringComparison.Ordinal) ? reply[6..] : "unexpected reply: " + reply;
}
