using System;
using System.Collections.Generic;
using System.Globalization;

namespace Moat.Cli.Oci;

/// <summary>
/// linux.resources as the Sentry enforces them: memory.limit is the sandbox's memory cap (a process faulting
/// beyond it is killed with SIGKILL, as the memory cgroup's OOM killer would), pids.limit the most tasks at once
/// (fork and clone beyond it fail with EAGAIN, as under the pids cgroup), cpu.cpus the host CPUs the sandbox's
/// threads may run on (an affinity mask, as the cpuset cgroup confines them). The CPU quota and shares are the
/// host cgroup's the whole sandbox runs in (<see cref="HostCgroup"/>), and are shown in the sandbox's own cgroup
/// (cpu.max, cpu.weight), so runtimes size their thread pools from them; memory reservation is named in the OCI log. memory.swap (memory+swap) is
/// checked against the limit as runc checks it and shown in the sandbox's cgroup; the sandbox never swaps.
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

        if (resources?.Memory?.Swap is long swap && swap != 0)
        {
            plan.MemorySwap = swap;
        }

        if (pids > 0)
        {
            plan.MaxTasks = pids > int.MaxValue ? int.MaxValue : (int)pids;
        }

        if (resources?.Cpu is OciCpu cpu)
        {
            if (!string.IsNullOrEmpty(cpu.Cpus))
            {
                if (!TryParseCpuList(cpu.Cpus, out ulong mask))
                {
                    error = $"invalid linux.resources.cpu.cpus {cpu.Cpus}";
                    return false;
                }

                plan.CpuSet = mask;
            }

            if (cpu.Quota is long quota && quota > 0)
            {
                plan.CpuQuota = (quota, cpu.Period is ulong period && period > 0 ? period : 100_000);
            }

            if (cpu.Shares is ulong shares && shares > 0)
            {
                plan.CpuWeight = HostCgroup.Weight(shares);
            }
        }

        return true;
    }

    /// <summary>
    /// runc's check of a memory+swap limit against the memory limit (ConvertMemorySwapToCgroupV2Value): null when
    /// it is fine (0 unset, -1 unlimited, or at least the limit), else runc's message.
    /// </summary>
    internal static string? SwapError(long swap, long memory) =>
        swap is 0 or -1 ? null
        : memory is 0 or -1 ? "unable to set swap limit without memory limit"
        : swap < -1 || swap < memory ? "memory+swap limit should be >= memory limit"
        : null;

    /// <summary>A cpuset list ("0-2,5") as a mask of the first 64 CPUs; false for a malformed list or a CPU above 63.</summary>
    internal static bool TryParseCpuList(string list, out ulong mask)
    {
        mask = 0;
        foreach (string part in list.Split(','))
        {
            string[] range = part.Trim().Split('-');
            if (range.Length > 2 || !uint.TryParse(range[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint first))
            {
                return false;
            }

            uint last = first;
            if (range.Length == 2 && (!uint.TryParse(range[1], NumberStyles.None, CultureInfo.InvariantCulture, out last) || last < first))
            {
                return false;
            }

            if (last > 63)
            {
                return false;
            }

            for (uint c = first; c <= last; c++)
            {
                mask |= 1UL << (int)c;
            }
        }

        return mask != 0;
    }

    /// <summary>
    /// The memory limit and the pids limit <paramref name="resources"/> sets (0 when it sets none, -1 for "no
    /// limit"); what the Sentry does not enforce goes to <paramref name="ignored"/>. False for a limit runc refuses.
    /// </summary>
    public static bool Read(OciResources? resources, List<string> ignored, out long memoryLimit, out long pidsLimit, out string error, bool checkSwap = true)
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

            // swap is memory+swap, checked as runc converts it for cgroup v2 (memory.swap.max = swap - limit). The
            // sandbox never swaps, so what it may use is min(limit, swap): the limit, as swap cannot be below it.
            if (checkSwap && SwapError(memory.Swap ?? 0, memoryLimit) is string swapError)
            {
                error = swapError;
                return false;
            }
        }

        if (resources.Pids is OciPids pids)
        {
            pidsLimit = pids.Limit < 0 ? -1 : pids.Limit;
        }

        if (resources.Cpu is OciCpu cpu)
        {
            if (!string.IsNullOrEmpty(cpu.Mems))
            {
                ignored.Add("linux.resources.cpu.mems: the sandbox has one memory node");
            }
        }

        return true;
    }
}
