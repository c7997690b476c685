using System.Collections.Generic;
using System.Globalization;

namespace Moat.Cli.Oci;

/// <summary>
/// linux.resources as the Sentry enforces them: memory.limit is the sandbox's memory cap (a process faulting
/// beyond it is killed with SIGKILL, as the memory cgroup's OOM killer would), pids.limit the most tasks at once
/// (fork and clone beyond it fail with EAGAIN, as under the pids cgroup). What the Sentry does not enforce
/// (cpu shares, quota, cpuset; memory reservation and swap) is accepted and named in the OCI log.
/// </summary>
internal static class OciResourceLimits
{
    public static bool Apply(SandboxPlan plan, OciResources? resources, out string error)
    {
        if (!Read(resources, plan.Ignored, out long memory, out long pids, out error))
        {
            return false;
        }

        if (memory > 0)
        {
            plan.MemoryLimit = (ulong)memory;
        }

        if (pids > 0)
        {
            plan.MaxTasks = pids > int.MaxValue ? int.MaxValue : (int)pids;
        }

        return true;
    }

    /// <summary>
    /// The memory limit and the pids limit <paramref name="resources"/> sets (0 when it sets none, -1 for "no
    /// limit"); what the Sentry does not enforce goes to <paramref name="ignored"/>. False for a limit runc refuses.
    /// </summary>
    public static bool Read(OciResources? resources, List<string> ignored, out long memoryLimit, out long pidsLimit, out string error)
    {
        error = string.Empty;
        memoryLimit = 0;
        pidsLimit = 0;
        if (resources == null)
        {
            return true;
        }

        if (resources.Memory is OciMemory memory)
        {
            // runc refuses a limit the kernel would refuse; -1 is "no limit", 0 leaves the cgroup's default (none).
            if (memory.Limit is long limit && limit < -1)
            {
                error = $"invalid memory limit {limit}";
                return false;
            }

            memoryLimit = memory.Limit ?? 0;
            if (memory.Reservation is long reservation && reservation > 0)
            {
                ignored.Add("linux.resources.memory.reservation: a soft limit; moat enforces only memory.limit");
            }

            // swap is memory+swap; the Sentry's memory is not swapped out separately, so only its excess over limit matters.
            if (memory.Swap is long swap && swap > 0 && swap != memory.Limit)
            {
                ignored.Add("linux.resources.memory.swap: the sandbox's memory is capped at memory.limit; swap beyond it is not accounted");
            }
        }

        if (resources.Pids is OciPids pids)
        {
            pidsLimit = pids.Limit < 0 ? -1 : pids.Limit;
        }

        if (resources.Cpu is OciCpu cpu)
        {
            if (cpu.Shares is ulong shares && shares > 0)
            {
                ignored.Add($"linux.resources.cpu.shares {shares.ToString(CultureInfo.InvariantCulture)}: not enforced by moat");
            }

            if (cpu.Quota is long quota && quota > 0)
            {
                ignored.Add($"linux.resources.cpu.quota {quota.ToString(CultureInfo.InvariantCulture)}: not enforced by moat (no CPU throttling yet)");
            }

            if (!string.IsNullOrEmpty(cpu.Cpus) || !string.IsNullOrEmpty(cpu.Mems))
            {
                ignored.Add("linux.resources.cpu.cpus/mems: not enforced by moat");
            }
        }

        return true;
    }
}
