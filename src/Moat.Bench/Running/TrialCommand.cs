using System.Collections.Generic;
using Moat.Bench.Workloads;

namespace Moat.Bench.Running;

/// <summary>The full command line of a workload under a runner.</summary>
public static class TrialCommand
{
    /// <summary>
    /// The runner's prefix, then the workload's words (<paramref name="args"/>, already expanded). A Moat runner
    /// gets the workload's own <c>moat do</c> options and <c>--</c> between the two; native runs an
    /// <see cref="WorkloadNetwork.Outside"/> workload under <paramref name="outsidePrefix"/> (<c>ip netns exec</c>
    /// into the bench's namespace), so that it too crosses a link to reach the host.
    /// </summary>
    public static List<string> Build(Workload w, Runner r, IEnumerable<string> args, IReadOnlyList<string> outsidePrefix)
    {
        var argv = new List<string>(r.Prefix);
        if (r.IsMoat)
        {
            argv.AddRange(w.MoatOptions);
            argv.Add("--");
        }
        else if (r.IsNative && w.Network == WorkloadNetwork.Outside)
        {
            argv.AddRange(outsidePrefix);
        }

        argv.AddRange(args);
        return argv;
    }
}
