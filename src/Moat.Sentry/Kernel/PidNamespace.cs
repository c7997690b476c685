using System.Collections.Generic;
using System.Threading;

namespace Moat.Sentry.Kernel;

/// <summary>
/// A PID namespace (Linux's struct pid_namespace): a tree rooted at the sandbox's own namespace. A task has an id
/// in its namespace and in every ancestor (<see cref="Pid"/>); the first process made in a namespace is its pid 1,
/// its <see cref="Init"/>: orphans of the namespace are given to it, it ignores signals it has no handler for when
/// they come from inside, and when it dies every task of the namespace is killed and no further one can be made
/// (<see cref="Dead"/>, fork's ENOMEM). The root namespace's ids are the kernel's global ones; its init is
/// <see cref="Kernel.Init"/>.
/// </summary>
internal sealed class PidNamespace
{
    /// <summary>Linux's MAX_PID_NS_LEVEL: namespaces nest at most this deep below the root.</summary>
    public const int MaxLevel = 32;

    /// <summary>The inode of Linux's initial PID namespace (PROC_PID_INIT_INO): the root's, as /proc/PID/ns/pid shows it.</summary>
    public const ulong RootInode = 0xEFFFFFFC;

    private readonly PidNamespace[] _chain;
    private int _last;

    // Protected by Kernel.TreeMu. Only the pids of tasks below the root are registered (the root's ids are the
    // kernel's table keys): in the root by global id, and in each namespace of their chain by that namespace's id.
    private readonly Dictionary<int, Pid> _byId = [];

    /// <summary>The root namespace of a sandbox.</summary>
    public PidNamespace()
    {
        _chain = [this];
        Inode = RootInode;
    }

    /// <summary>A new namespace below <paramref name="parent"/> (clone or unshare with CLONE_NEWPID).</summary>
    public PidNamespace(PidNamespace parent)
    {
        Parent = parent;
        Level = parent.Level + 1;
        _chain = new PidNamespace[Level + 1];
        parent._chain.CopyTo(_chain, 0);
        _chain[Level] = this;
        Inode = NamespaceInodes.Next();
    }

    /// <summary>A root for tasks made outside any kernel's process tree (unit tests).</summary>
    public static PidNamespace Detached { get; } = new();

    public PidNamespace? Parent { get; }

    /// <summary>0 for the sandbox's root namespace.</summary>
    public int Level { get; }

    /// <summary>The namespace's inode number, as /proc/PID/ns/pid names it ("pid:[N]").</summary>
    public ulong Inode { get; }

    /// <summary>The namespace's pid 1, once made (null for the root: see <see cref="Kernel.Init"/>). Protected by Kernel.TreeMu.</summary>
    public ThreadGroup? Init { get; set; }

    /// <summary>Init has died: no task can be made in the namespace any more. Protected by Kernel.TreeMu.</summary>
    public bool Dead { get; set; }

    /// <summary>Init has exited but tasks of the namespace are still dying: its parent is told once they are gone. Protected by Kernel.TreeMu.</summary>
    public bool InitExitPending { get; set; }

    /// <summary>The ancestor (or this namespace) at <paramref name="level"/>; <paramref name="level"/> is at most <see cref="Level"/>.</summary>
    public PidNamespace AncestorAt(int level) => _chain[level];

    /// <summary>Whether <paramref name="other"/> is this namespace or one below it: its tasks are visible here.</summary>
    public bool Contains(PidNamespace other) => Level == 0 || (other.Level >= Level && other._chain[Level] == this);

    /// <summary>The next id of this namespace (below the root; the root's are the kernel's).</summary>
    public int NextId() => Interlocked.Increment(ref _last);

    /// <summary>The pid registered under <paramref name="id"/> here. Preconditions: Kernel.TreeMu is held.</summary>
    public Pid? LookupLocked(int id) => _byId.GetValueOrDefault(id);

    /// <summary>Registers <paramref name="pid"/> under <paramref name="id"/>. Preconditions: Kernel.TreeMu is held.</summary>
    public void RegisterLocked(int id, Pid pid) => _byId[id] = pid;

    /// <summary>Forgets <paramref name="id"/>. Preconditions: Kernel.TreeMu is held.</summary>
    public void UnregisterLocked(int id) => _byId.Remove(id);

    /// <summary>The global id of the task called <paramref name="id"/> here, 0 for none. Preconditions: Kernel.TreeMu is held.</summary>
    public int GlobalOfLocked(int id) => Level == 0 ? id : id > 0 ? LookupLocked(id)?.Global ?? 0 : 0;
}
