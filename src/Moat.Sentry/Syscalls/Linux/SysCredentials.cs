using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// set*id(2), setgroups(2) and capget(2), with Linux's rules: root (effective uid 0, which holds every
/// capability in the sandbox) may take any id; others may only swap among their real, effective and saved ids.
/// </summary>
internal static class SysCredentials
{
    private const uint Unchanged = uint.MaxValue;

    private static bool Allowed(Credentials c, uint id, bool user) =>
        id == Unchanged || c.IsRoot || (user ? id == c.RealUid || id == c.EffectiveUid || id == c.SavedUid : id == c.RealGid || id == c.EffectiveGid || id == c.SavedGid);

    /// <summary>Implements setuid(2).</summary>
    public static long Setuid(Task t, in SyscallArgs a)
    {
        uint uid = a.UInt(0);
        Credentials c = t.Credentials;
        if (uid == Unchanged)
        {
            return -Errno.EINVAL.Value;
        }

        if (c.IsRoot)
        {
            t.Credentials = c with { RealUid = uid, EffectiveUid = uid, SavedUid = uid };
            return 0;
        }

        if (uid != c.RealUid && uid != c.SavedUid)
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with { EffectiveUid = uid };
        return 0;
    }

    /// <summary>Implements setgid(2).</summary>
    public static long Setgid(Task t, in SyscallArgs a)
    {
        uint gid = a.UInt(0);
        Credentials c = t.Credentials;
        if (gid == Unchanged)
        {
            return -Errno.EINVAL.Value;
        }

        if (c.IsRoot)
        {
            t.Credentials = c with { RealGid = gid, EffectiveGid = gid, SavedGid = gid };
            return 0;
        }

        if (gid != c.RealGid && gid != c.SavedGid)
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with { EffectiveGid = gid };
        return 0;
    }

    /// <summary>Implements setresuid(2).</summary>
    public static long Setresuid(Task t, in SyscallArgs a)
    {
        uint r = a.UInt(0), e = a.UInt(1), s = a.UInt(2);
        Credentials c = t.Credentials;
        if (!Allowed(c, r, true) || !Allowed(c, e, true) || !Allowed(c, s, true))
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with
        {
            RealUid = r == Unchanged ? c.RealUid : r,
            EffectiveUid = e == Unchanged ? c.EffectiveUid : e,
            SavedUid = s == Unchanged ? c.SavedUid : s,
        };
        return 0;
    }

    /// <summary>Implements setresgid(2).</summary>
    public static long Setresgid(Task t, in SyscallArgs a)
    {
        uint r = a.UInt(0), e = a.UInt(1), s = a.UInt(2);
        Credentials c = t.Credentials;
        if (!Allowed(c, r, false) || !Allowed(c, e, false) || !Allowed(c, s, false))
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with
        {
            RealGid = r == Unchanged ? c.RealGid : r,
            EffectiveGid = e == Unchanged ? c.EffectiveGid : e,
            SavedGid = s == Unchanged ? c.SavedGid : s,
        };
        return 0;
    }

    /// <summary>Implements setreuid(2): the saved uid follows the new effective one when the real one is set or the effective one changes.</summary>
    public static long Setreuid(Task t, in SyscallArgs a)
    {
        uint r = a.UInt(0), e = a.UInt(1);
        Credentials c = t.Credentials;
        bool rOk = r == Unchanged || c.IsRoot || r == c.RealUid || r == c.EffectiveUid;
        bool eOk = e == Unchanged || c.IsRoot || e == c.RealUid || e == c.EffectiveUid || e == c.SavedUid;
        if (!rOk || !eOk)
        {
            return -Errno.EPERM.Value;
        }

        uint newR = r == Unchanged ? c.RealUid : r;
        uint newE = e == Unchanged ? c.EffectiveUid : e;
        uint newS = r != Unchanged || (e != Unchanged && e != c.RealUid) ? newE : c.SavedUid;
        t.Credentials = c with { RealUid = newR, EffectiveUid = newE, SavedUid = newS };
        return 0;
    }

    /// <summary>Implements setregid(2).</summary>
    public static long Setregid(Task t, in SyscallArgs a)
    {
        uint r = a.UInt(0), e = a.UInt(1);
        Credentials c = t.Credentials;
        bool rOk = r == Unchanged || c.IsRoot || r == c.RealGid || r == c.EffectiveGid;
        bool eOk = e == Unchanged || c.IsRoot || e == c.RealGid || e == c.EffectiveGid || e == c.SavedGid;
        if (!rOk || !eOk)
        {
            return -Errno.EPERM.Value;
        }

        uint newR = r == Unchanged ? c.RealGid : r;
        uint newE = e == Unchanged ? c.EffectiveGid : e;
        uint newS = r != Unchanged || (e != Unchanged && e != c.RealGid) ? newE : c.SavedGid;
        t.Credentials = c with { RealGid = newR, EffectiveGid = newE, SavedGid = newS };
        return 0;
    }

    /// <summary>Implements setgroups(2).</summary>
    public static long Setgroups(Task t, in SyscallArgs a)
    {
        int size = a.Int(0);
        if (size < 0 || size > 65536)
        {
            return -Errno.EINVAL.Value;
        }

        if (!t.Credentials.IsRoot)
        {
            return -Errno.EPERM.Value;
        }

        uint[] groups = new uint[size];
        if (size > 0 && t.MM.CopyIn(a.Pointer(1), MemoryMarshal.AsBytes(groups.AsSpan())) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        t.Credentials = t.Credentials with { Groups = groups };
        return 0;
    }

    /// <summary>Implements getgroups(2).</summary>
    public static long Getgroups(Task t, in SyscallArgs a)
    {
        int size = a.Int(0);
        uint[] groups = t.Credentials.Groups;
        if (size < 0)
        {
            return -Errno.EINVAL.Value;
        }

        if (size == 0)
        {
            return groups.Length;
        }

        if (size < groups.Length)
        {
            return -Errno.EINVAL.Value;
        }

        return t.MM.CopyOut(a.Pointer(1), MemoryMarshal.AsBytes(groups.AsSpan())) < 0 ? -Errno.EFAULT.Value : groups.Length;
    }

    /// <summary>Implements capget(2): root holds every capability, other users none (no file capabilities).</summary>
    public static long Capget(Task t, in SyscallArgs a)
    {
        const uint V1 = 0x19980330, V2 = 0x20071026, V3 = 0x20080522;
        if (t.MM.CopyIn(a.Pointer(0), out uint version) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (version is not (V1 or V2 or V3))
        {
            // Linux writes back the version it prefers and says EINVAL.
            t.MM.CopyOut(a.Pointer(0), V3);
            return a.Pointer(1) == 0 ? 0 : -Errno.EINVAL.Value;
        }

        if (a.Pointer(1) == 0)
        {
            return 0;
        }

        // struct __user_cap_data_struct { effective, permitted, inheritable } x (1 or 2).
        bool root = t.Credentials.IsRoot;
        Span<uint> data = [root ? 0xFFFFFFFF : 0, root ? 0xFFFFFFFF : 0, 0, root ? 0x1FFu : 0, root ? 0x1FFu : 0, 0];
        int words = version == V1 ? 3 : 6;
        return t.MM.CopyOut(a.Pointer(1), MemoryMarshal.AsBytes(data[..words]));
    }
}
