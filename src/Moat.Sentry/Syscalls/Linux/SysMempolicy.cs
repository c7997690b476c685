using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// NUMA memory policy calls for a sandbox with one node (node 0): set_mempolicy(2) and get_mempolicy(2) keep a
/// task's policy with Linux's checks and answers; mbind(2) checks its arguments and range but keeps no policy per
/// mapping (get_mempolicy(MPOL_F_ADDR) reports MPOL_DEFAULT). All memory is on node 0 whatever the policy.
/// </summary>
internal static class SysMempolicy
{
    private const int MPOL_DEFAULT = 0;
    private const int MPOL_PREFERRED = 1;
    private const int MPOL_BIND = 2;
    private const int MPOL_INTERLEAVE = 3;
    private const int MPOL_LOCAL = 4;
    private const int MPOL_PREFERRED_MANY = 5;
    private const int MPOL_WEIGHTED_INTERLEAVE = 6;
    private const int MPOL_MAX = 7;
    private const int MPOL_F_NUMA_BALANCING = 1 << 13;
    private const int MPOL_F_RELATIVE_NODES = 1 << 14;
    private const int MPOL_F_STATIC_NODES = 1 << 15;
    private const int MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING;

    private const ulong MPOL_F_NODE = 1;
    private const ulong MPOL_F_ADDR = 2;
    private const ulong MPOL_F_MEMS_ALLOWED = 4;

    private const uint MPOL_MF_STRICT = 1;
    private const uint MPOL_MF_MOVE = 2;
    private const uint MPOL_MF_MOVE_ALL = 4;

    // CONFIG_NODES_SHIFT=10 as Debian's kernels: bits of a node mask the kernel looks at.
    private const ulong MaxNumNodes = 1024;
    private const int NodeIds = 1;

    /// <summary>Implements set_mempolicy(2).</summary>
    public static long SetMempolicy(Task t, in SyscallArgs a)
    {
        long r = ParseMode(a.Int(0), out int mode, out int flags);
        if (r < 0)
        {
            return r;
        }

        r = GetNodes(t, a.Pointer(1), a.SizeT(2), out ulong nodes, out bool any);
        if (r < 0)
        {
            return r;
        }

        r = NewPolicy(ref mode, flags, nodes, any, out ulong reported);
        if (r < 0)
        {
            return r;
        }

        t.MempolicyMode = mode | flags;
        t.MempolicyNodes = reported;
        return 0;
    }

    /// <summary>Implements get_mempolicy(2).</summary>
    public static long GetMempolicy(Task t, in SyscallArgs a)
    {
        ulong policyAddr = a.Pointer(0);
        ulong maskAddr = a.Pointer(1);
        ulong maxnode = a.SizeT(2);
        ulong addr = a.Pointer(3);
        ulong flags = a[4];
        if (maskAddr != 0 && maxnode < NodeIds)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & ~(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        int policy;
        ulong nodes;
        if ((flags & MPOL_F_MEMS_ALLOWED) != 0)
        {
            if ((flags & (MPOL_F_NODE | MPOL_F_ADDR)) != 0)
            {
                return -Errno.EINVAL.Value;
            }

            policy = 0;
            nodes = 1;
        }
        else if ((flags & MPOL_F_ADDR) != 0)
        {
            // No policy is kept per mapping: the VMA's is the default one, and every page is on node 0.
            if (!t.MM.IsMapped(addr))
            {
                return -Errno.EFAULT.Value;
            }

            policy = MPOL_DEFAULT;
            nodes = 0;
        }
        else if (addr != 0)
        {
            return -Errno.EINVAL.Value;
        }
        else
        {
            int mode = t.MempolicyMode & ~MPOL_MODE_FLAGS;
            if ((flags & MPOL_F_NODE) != 0)
            {
                // The next node an interleaving policy allocates from: the only one.
                if (mode != MPOL_INTERLEAVE && mode != MPOL_WEIGHTED_INTERLEAVE)
                {
                    return -Errno.EINVAL.Value;
                }

                policy = 0;
            }
            else
            {
                policy = t.MempolicyMode;
            }

            nodes = t.MempolicyNodes;
        }

        if (policyAddr != 0 && t.MM.CopyOut(policyAddr, policy) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        return maskAddr != 0 ? CopyNodesOut(t, maskAddr, maxnode, nodes) : 0;
    }

    /// <summary>Implements mbind(2): the checks of do_mbind in its order; the range must be mapped without holes.</summary>
    public static long Mbind(Task t, in SyscallArgs a)
    {
        ulong start = a.Pointer(0);
        ulong len = a.SizeT(1);
        ulong flags = a[5] & uint.MaxValue;
        long r = ParseMode(a.Int(2), out int mode, out int modeFlags);
        if (r < 0)
        {
            return r;
        }

        r = GetNodes(t, a.Pointer(3), a.SizeT(4), out ulong nodes, out bool any);
        if (r < 0)
        {
            return r;
        }

        if ((flags & ~(ulong)(MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & MPOL_MF_MOVE_ALL) != 0 && !t.Credentials.HasCapability(Credentials.CAP_SYS_NICE))
        {
            return -Errno.EPERM.Value;
        }

        if ((start & (Mman.PageSize - 1)) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        ulong end = start + MemoryManager.PageUp(len);
        if (end < start)
        {
            return -Errno.EINVAL.Value;
        }

        if (end == start)
        {
            return 0;
        }

        r = NewPolicy(ref mode, modeFlags, nodes, any, out _);
        if (r < 0)
        {
            return r;
        }

        return t.MM.IsRangeMapped(start, end) ? 0 : -Errno.EFAULT.Value;
    }

    // Linux's sanitize_mpol_flags: the mode and its flags, checked.
    private static long ParseMode(int value, out int mode, out int flags)
    {
        flags = value & MPOL_MODE_FLAGS;
        mode = value & ~MPOL_MODE_FLAGS;
        if ((uint)mode >= MPOL_MAX)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & MPOL_F_STATIC_NODES) != 0 && (flags & MPOL_F_RELATIVE_NODES) != 0)
        {
            return -Errno.EINVAL.Value;
        }

        if ((flags & MPOL_F_NUMA_BALANCING) != 0 && mode != MPOL_BIND && mode != MPOL_PREFERRED_MANY)
        {
            return -Errno.EINVAL.Value;
        }

        return 0;
    }

    // Linux's get_nodes: the user's mask of maxnode-1 bits, EINVAL for bits beyond MAX_NUMNODES. nodes is its
    // first word; any says whether any bit at all is set.
    private static long GetNodes(Task t, ulong maskAddr, ulong maxnode, out ulong nodes, out bool any)
    {
        nodes = 0;
        any = false;
        maxnode--;
        if (maxnode == 0 || maskAddr == 0)
        {
            return 0;
        }

        if (maxnode > Mman.PageSize * 8)
        {
            return -Errno.EINVAL.Value;
        }

        while (maxnode > MaxNumNodes)
        {
            ulong bits = Math.Min(maxnode, 64);
            if (t.MM.CopyIn(maskAddr + ((maxnode - 1) / 64 * 8), out ulong word) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            maxnode = maxnode - bits >= MaxNumNodes ? maxnode - bits : MaxNumNodes;
            if (word != 0)
            {
                return -Errno.EINVAL.Value;
            }
        }

        int words = (int)((maxnode + 63) / 64);
        Span<ulong> mask = stackalloc ulong[(int)(MaxNumNodes / 64)];
        if (t.MM.CopyIn(maskAddr, MemoryMarshal.AsBytes(mask[..words])) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (maxnode % 64 != 0)
        {
            mask[words - 1] &= (1UL << (int)(maxnode % 64)) - 1;
        }

        nodes = mask[0];
        for (int i = 0; i < words; i++)
        {
            any |= mask[i] != 0;
        }

        return 0;
    }

    // Linux's mpol_new and mpol_set_nodemask for one node: checks the mask against the mode and computes the
    // mask get_mempolicy reports (the user's for static and relative policies, else the nodes used).
    private static long NewPolicy(ref int mode, int flags, ulong nodes, bool any, out ulong reported)
    {
        reported = 0;
        bool userMask = (flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)) != 0;
        if (mode == MPOL_DEFAULT)
        {
            return any ? -Errno.EINVAL.Value : 0;
        }

        if (mode == MPOL_PREFERRED && !any)
        {
            if (userMask)
            {
                return -Errno.EINVAL.Value;
            }

            mode = MPOL_LOCAL;
        }
        else if (mode == MPOL_LOCAL)
        {
            if (any || userMask)
            {
                return -Errno.EINVAL.Value;
            }
        }
        else if (!any)
        {
            return -Errno.EINVAL.Value;
        }

        if (mode == MPOL_LOCAL)
        {
            return 0;
        }

        // Relative nodes fold onto the allowed ones (node 0 only); otherwise the mask must include node 0.
        bool usable = (flags & MPOL_F_RELATIVE_NODES) != 0 ? any : (nodes & 1) != 0;
        if (!usable)
        {
            return -Errno.EINVAL.Value;
        }

        reported = userMask ? nodes : 1;
        return 0;
    }

    // Linux's copy_nodes_to_user: the mask in ALIGN(maxnode-1, 64)/8 bytes, zeroed beyond the node ids.
    private static long CopyNodesOut(Task t, ulong maskAddr, ulong maxnode, ulong nodes)
    {
        ulong copy = ((maxnode - 1 + 63) & ~63UL) / 8;
        const ulong NodeBytes = 8;
        if (copy > NodeBytes)
        {
            if (copy > Mman.PageSize)
            {
                return -Errno.EINVAL.Value;
            }

            Span<byte> zeros = stackalloc byte[(int)(copy - NodeBytes)];
            zeros.Clear();
            if (t.MM.CopyOut(maskAddr + NodeBytes, zeros) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            copy = NodeBytes;
        }

        Span<byte> bytes = MemoryMarshal.AsBytes(new Span<ulong>(ref nodes));
        return t.MM.CopyOut(maskAddr, bytes[..(int)copy]) < 0 ? -Errno.EFAULT.Value : 0;
    }
}
