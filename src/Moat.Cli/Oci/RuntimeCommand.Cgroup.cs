using System.Globalization;

namespace Moat.Cli.Oci;

/// <summary>
/// The sandbox's host CPU cgroup (<see cref="HostCgroup"/>) at create and delete. A host without a writable cpu
/// hierarchy runs the container without one: the CPU settings are then named in the log as not enforced.
/// </summary>
internal static partial class RuntimeCommand
{
    // Makes the container's cgroup with the spec's CPU settings; false (logged) when the kernel refuses a value,
    // as runc's create fails. cgroup is null when this host has none to make.
    private static bool MakeCgroup(Globals g, OciSpec spec, string id, out string? cgroup)
    {
        cgroup = null;
        OciCpu? cpu = spec.Linux?.Resources?.Cpu;
        bool wanted = cpu != null && (cpu.Shares is > 0 || cpu.Quota is not (null or 0) || cpu.Period is > 0);
        string? dir = HostCgroup.Resolve(spec.Linux?.CgroupsPath, id, out string why);
        if (dir != null && HostCgroup.Make(dir) is string failure)
        {
            dir = null;
            why = failure;
        }

        if (dir == null)
        {
            if (wanted)
            {
                g.Log.Write("warning", "linux.resources.cpu: not enforced, the sandbox gets no cgroup: " + why);
            }

            return true;
        }

        if (cpu != null && HostCgroup.SetCpu(dir, cpu.Shares ?? 0, cpu.Quota ?? 0, cpu.Period ?? 0) is string error)
        {
            HostCgroup.Remove(dir);
            g.Log.Error($"cannot set the cpu limits of {dir}: {error}");
            return false;
        }

        cgroup = dir;
        return true;
    }

    // The state of a container whose sandbox is gone, and its cgroup.
    private static void RemoveContainer(Globals g, string id)
    {
        RemoveCgroup(g.Store.Load(id, out _)?.Cgroup);
        g.Store.Remove(id);
    }

    private static void RemoveCgroup(string? cgroup)
    {
        if (cgroup != null)
        {
            HostCgroup.Remove(cgroup);
        }
    }

    // update's CPU settings, written into the sandbox's cgroup as runc writes them; 0 (or logged failure) status.
    private static int UpdateCpu(Globals g, ContainerRecord r, ulong shares, long quota, ulong period)
    {
        if (shares == 0 && quota == 0 && period == 0)
        {
            return 0;
        }

        if (r.Cgroup == null)
        {
            return g.Log.Error("cannot update the cpu limits: the container has no cgroup (the host's cpu hierarchy was not writable at create)");
        }

        return HostCgroup.SetCpu(r.Cgroup, shares, quota, period) is string error
            ? g.Log.Error(string.Create(CultureInfo.InvariantCulture, $"cannot set the cpu limits of {r.Cgroup}: {error}"))
            : 0;
    }
}
