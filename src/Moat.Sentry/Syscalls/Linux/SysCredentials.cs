using System;
using System.Runtime.InteropServices;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Syscalls.Linux;

/// <summary>
/// set*id(2), setgroups(2), capget(2) and capset(2), with Linux's rules: a task with CAP_SETUID (CAP_SETGID) may
/// take any uid (gid); others may only swap among their real, effective and saved ids. Uid changes adjust the
/// capability sets as Linux does; root starts with every capability.
/// </summary>
internal static class SysCredentials
{
    private const uint Unchanged = uint.MaxValue;

    private static bool Allowed(Credentials c, uint id, bool user) =>
        id == Unchanged || c.HasCapability(user ? Credentials.CAP_SETUID : Credentials.CAP_SETGID) || (user ? id == c.RealUid || id == c.EffectiveUid || id == c.SavedUid : id == c.RealGid || id == c.EffectiveGid || id == c.SavedGid);

    /// <summary>Implements setuid(2).</summary>
    public static long Setuid(Task t, in SyscallArgs a)
    {
        uint uid = a.UInt(0);
        Credentials c = t.Credentials;
        if (uid == Unchanged)
        {
            return -Errno.EINVAL.Value;
        }

        if (c.HasCapability(Credentials.CAP_SETUID))
        {
            t.Credentials = (c with { RealUid = uid, EffectiveUid = uid, SavedUid = uid }).AfterUidChange(c);
            return 0;
        }

        if (uid != c.RealUid && uid != c.SavedUid)
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = (c with { EffectiveUid = uid }).AfterUidChange(c);
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

        if (c.HasCapability(Credentials.CAP_SETGID))
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

        t.Credentials = (c with
        {
            RealUid = r == Unchanged ? c.RealUid : r,
            EffectiveUid = e == Unchanged ? c.EffectiveUid : e,
            SavedUid = s == Unchanged ? c.SavedUid : s,
        }).AfterUidChange(c);
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
        bool rOk = r == Unchanged || c.HasCapability(Credentials.CAP_SETUID) || r == c.RealUid || r == c.EffectiveUid;
        bool eOk = e == Unchanged || c.HasCapability(Credentials.CAP_SETUID) || e == c.RealUid || e == c.EffectiveUid || e == c.SavedUid;
        if (!rOk || !eOk)
        {
            return -Errno.EPERM.Value;
        }

        uint newR = r == Unchanged ? c.RealUid : r;
        uint newE = e == Unchanged ? c.EffectiveUid : e;
        uint newS = r != Unchanged || (e != Unchanged && e != c.RealUid) ? newE : c.SavedUid;
        t.Credentials = (c with { RealUid = newR, EffectiveUid = newE, SavedUid = newS }).AfterUidChange(c);
        return 0;
    }

    /// <summary>Implements setregid(2).</summary>
    public static long Setregid(Task t, in SyscallArgs a)
    {
        uint r = a.UInt(0), e = a.UInt(1);
        Credentials c = t.Credentials;
        bool rOk = r == Unchanged || c.HasCapability(Credentials.CAP_SETGID) || r == c.RealGid || r == c.EffectiveGid;
        bool eOk = e == Unchanged || c.HasCapability(Credentials.CAP_SETGID) || e == c.RealGid || e == c.EffectiveGid || e == c.SavedGid;
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

        if (!t.Credentials.HasCapability(Credentials.CAP_SETGID))
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

    private const uint CapV1 = 0x19980330;
    private const uint CapV2 = 0x20071026;
    private const uint CapV3 = 0x20080522;

    /// <summary>Implements capget(2): the capability sets of the caller or of any thread.</summary>
    public static long Capget(Task t, in SyscallArgs a)
    {
        long r = CapHeader(t, a.Pointer(0), a.Pointer(1) == 0, out int words, out int pid);
        if (r != 0 || a.Pointer(1) == 0)
        {
            return r;
        }

        if (pid < 0)
        {
            return -Errno.EINVAL.Value;
        }

        Task? target = pid == 0 ? t : t.Kernel.FindTask(t.PidNs, pid);
        if (target == null)
        {
            return -Errno.ESRCH.Value;
        }

        // struct __user_cap_data_struct { effective, permitted, inheritable }: low words, then high words.
        Credentials c = target.Credentials;
        Span<uint> data = [(uint)c.CapEffective, (uint)c.CapPermitted, (uint)c.CapInheritable,
            (uint)(c.CapEffective >> 32), (uint)(c.CapPermitted >> 32), (uint)(c.CapInheritable >> 32)];
        return t.MM.CopyOut(a.Pointer(1), MemoryMarshal.AsBytes(data[..(words * 3)]));
    }

    /// <summary>
    /// Implements capset(2) for the caller (Linux's cap_capset): the new permitted set must lie within the old
    /// one, the effective set within the new permitted one, and the inheritable set within the old inheritable
    /// and bounding (all) sets, and within inheritable plus permitted unless CAP_SETPCAP is effective.
    /// </summary>
    public static long Capset(Task t, in SyscallArgs a)
    {
        long r = CapHeader(t, a.Pointer(0), dataIsNull: false, out int words, out int pid);
        if (r != 0)
        {
            return r;
        }

        if (pid != 0 && pid != t.Pid.In(t.PidNs))
        {
            return -Errno.EPERM.Value;
        }

        Span<uint> data = [0, 0, 0, 0, 0, 0];
        if (t.MM.CopyIn(a.Pointer(1), MemoryMarshal.AsBytes(data[..(words * 3)])) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        ulong effective = data[0] | ((ulong)data[3] << 32);
        ulong permitted = data[1] | ((ulong)data[4] << 32);
        ulong inheritable = data[2] | ((ulong)data[5] << 32);
        Credentials c = t.Credentials;
        bool capped = !c.HasCapability(Credentials.CAP_SETPCAP);
        if ((capped && (inheritable & ~(c.CapInheritable | c.CapPermitted)) != 0) ||
            (inheritable & ~(c.CapInheritable | Credentials.AllCapabilities)) != 0 ||
            (permitted & ~c.CapPermitted) != 0 ||
            (effective & ~permitted) != 0)
        {
            return -Errno.EPERM.Value;
        }

        t.Credentials = c with { CapEffective = effective, CapPermitted = permitted, CapInheritable = inheritable, CapAmbient = c.CapAmbient & permitted & inheritable };
        return 0;
    }

    // Reads struct __user_cap_header_struct { version, pid }. An unknown version is answered with the preferred
    // one written back and EINVAL (0 for a capget probe with no data). Returns 0 with the data words per set.
    private static long CapHeader(Task t, ulong addr, bool dataIsNull, out int words, out int pid)
    {
        words = 2;
        pid = 0;
        if (t.MM.CopyIn(addr, out uint version) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        if (version is not (CapV1 or CapV2 or CapV3))
        {
            if (t.MM.CopyOut(addr, CapV3) < 0)
            {
                return -Errno.EFAULT.Value;
            }

            return dataIsNull ? 0 : -Errno.EINVAL.Value;
        }

        words = version == CapV1 ? 1 : 2;
        return t.MM.CopyIn(addr + 4, out pid) < 0 ? -Errno.EFAULT.Value : 0;
    }
}
