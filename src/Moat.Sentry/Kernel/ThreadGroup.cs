using Moat.Abi;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A process: the tasks that share a pid, signal actions, resource limits and an executable.
/// For now every thread group has exactly one task.
/// </summary>
internal sealed class ThreadGroup
{
    private readonly Rlimit[] _limits = DefaultLimits();

    public ThreadGroup(int tgid, int parentTgid, string executablePath)
    {
        Tgid = tgid;
        ParentTgid = parentTgid;
        ExecutablePath = executablePath;
        ProcessGroup = tgid;
        Session = tgid;
    }

    /// <summary>The process id, in the sandbox's pid namespace.</summary>
    public int Tgid { get; }

    public int ParentTgid { get; }

    /// <summary>The process group id.</summary>
    public int ProcessGroup { get; set; }

    /// <summary>The session id.</summary>
    public int Session { get; set; }

    /// <summary>The sandbox path of the running executable (what /proc/self/exe names).</summary>
    public string ExecutablePath { get; set; }

    /// <summary>The working directory, as an absolute sandbox path.</summary>
    public string Cwd { get; set; } = "/";

    /// <summary>Actions by signal number (index 0 unused). Owned by the group's task thread.</summary>
    public SignalAction[] SignalActions { get; } = new SignalAction[Signal.SIGRTMAX + 1];

    public ref Rlimit Limit(int resource) => ref _limits[resource];

    private static Rlimit[] DefaultLimits()
    {
        var l = new Rlimit[RlimitResource.RLIM_NLIMITS];
        for (int i = 0; i < l.Length; i++)
        {
            l[i] = new Rlimit { rlim_cur = Rlimit.RLIM_INFINITY, rlim_max = Rlimit.RLIM_INFINITY };
        }

        // Linux's defaults for a process started by init (include/asm-generic/resource.h).
        l[RlimitResource.RLIMIT_STACK].rlim_cur = Loader.ElfLoader.DefaultStackSize;
        l[RlimitResource.RLIMIT_CORE].rlim_cur = 0;
        l[RlimitResource.RLIMIT_NOFILE] = new Rlimit { rlim_cur = 1024, rlim_max = 524288 };
        l[RlimitResource.RLIMIT_MEMLOCK] = new Rlimit { rlim_cur = 8UL << 20, rlim_max = 8UL << 20 };
        l[RlimitResource.RLIMIT_MSGQUEUE] = new Rlimit { rlim_cur = 819200, rlim_max = 819200 };
        l[RlimitResource.RLIMIT_NICE] = default;
        l[RlimitResource.RLIMIT_RTPRIO] = default;
        l[RlimitResource.RLIMIT_NPROC] = new Rlimit { rlim_cur = 63704, rlim_max = 63704 };
        l[RlimitResource.RLIMIT_SIGPENDING] = new Rlimit { rlim_cur = 63704, rlim_max = 63704 };
        return l;
    }
}
