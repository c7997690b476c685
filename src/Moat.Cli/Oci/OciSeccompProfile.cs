using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>
/// Turns config.json's linux.seccomp into the profile the Sentry installs, making the choices runc makes
/// with libseccomp: names the x86-64 table does not know are ignored; a rule whose action equals the default
/// is dropped; SCMP_ACT_ERRNO and SCMP_ACT_TRACE without errnoRet carry EPERM; a rule with two conditions on
/// one argument becomes one rule per condition (libseccomp cannot AND them); architectures other than x86,
/// x86-64 and x32 never match an x86-64 call and are accepted; calls of an unlisted architecture get
/// libseccomp's bad-arch action, KILL_THREAD. SCMP_ACT_NOTIFY (and listenerPath) is refused: the Sentry has
/// no notification fd to hand out.
/// </summary>
internal static class OciSeccompProfile
{
    private const int MaxArgs = 6;

    private static readonly Dictionary<string, int> s_numbers = BuildNumbers();

    public static SeccompPolicy? Compile(OciSeccomp s, out string error)
    {
        error = string.Empty;
        if (!string.IsNullOrEmpty(s.ListenerPath))
        {
            error = "linux.seccomp.listenerPath: seccomp user notification is not supported";
            return null;
        }

        if (!TryAction(s.DefaultAction, s.DefaultErrnoRet, out uint defaultAction, out error))
        {
            error = "linux.seccomp.defaultAction: " + error;
            return null;
        }

        bool i386 = false;
        bool x32 = false;
        foreach (string arch in s.Architectures ?? [])
        {
            if (!arch.StartsWith("SCMP_ARCH_", StringComparison.Ordinal))
            {
                error = $"linux.seccomp.architectures: unknown architecture \"{arch}\"";
                return null;
            }

            i386 |= arch == "SCMP_ARCH_X86";
            x32 |= arch == "SCMP_ARCH_X32";
        }

        bool log = false;
        foreach (string flag in s.Flags ?? [])
        {
            switch (flag)
            {
                case "SECCOMP_FILTER_FLAG_LOG":
                    log = true;
                    break;
                case "SECCOMP_FILTER_FLAG_TSYNC": // one thread when the filter goes on: nothing to sync
                case "SECCOMP_FILTER_FLAG_SPEC_ALLOW": // speculation mitigations are the host's
                    break;
                default:
                    error = $"linux.seccomp.flags: unknown flag \"{flag}\"";
                    return null;
            }
        }

        var rules = new List<SeccompPolicyRule>();
        foreach (OciSyscallRule call in s.Syscalls ?? [])
        {
            if (!TryAction(call.Action, call.ErrnoRet, out uint action, out error))
            {
                error = "linux.seccomp.syscalls: " + error;
                return null;
            }

            var conditions = new List<SeccompArgCondition>();
            var perArg = new int[MaxArgs];
            foreach (OciSyscallArg arg in call.Args ?? [])
            {
                if (arg.Index >= MaxArgs || !TryCompare(arg.Op, out SeccompCompare op))
                {
                    error = arg.Index >= MaxArgs ? $"linux.seccomp.syscalls: argument index {arg.Index} out of range" : $"linux.seccomp.syscalls: unknown operator \"{arg.Op}\"";
                    return null;
                }

                perArg[(int)arg.Index]++;
                conditions.Add(new SeccompArgCondition((int)arg.Index, op, arg.Value, arg.ValueTwo));
            }

            if (action == defaultAction)
            {
                continue;
            }

            bool split = Array.Exists(perArg, n => n > 1);
            foreach (string name in call.Names ?? [])
            {
                if (!s_numbers.TryGetValue(name, out int nr))
                {
                    continue;
                }

                if (split)
                {
                    foreach (SeccompArgCondition c in conditions)
                    {
                        rules.Add(new SeccompPolicyRule(nr, action, [c]));
                    }
                }
                else
                {
                    rules.Add(new SeccompPolicyRule(nr, action, conditions));
                }
            }
        }

        return new SeccompPolicy
        {
            DefaultAction = defaultAction,
            Rules = rules,
            CoversI386 = i386,
            CoversX32 = x32,
            BadArchAction = SeccompAbi.SECCOMP_RET_KILL_THREAD,
            Log = log,
        };
    }

    private static bool TryAction(string? name, uint? errnoRet, out uint action, out string error)
    {
        error = string.Empty;
        uint data = Math.Min(errnoRet ?? (uint)Errno.EPERM.Value, SeccompAbi.SECCOMP_RET_DATA);
        switch (name)
        {
            case "SCMP_ACT_KILL":
            case "SCMP_ACT_KILL_THREAD":
                action = SeccompAbi.SECCOMP_RET_KILL_THREAD;
                return true;
            case "SCMP_ACT_KILL_PROCESS":
                action = SeccompAbi.SECCOMP_RET_KILL_PROCESS;
                return true;
            case "SCMP_ACT_TRAP":
                action = SeccompAbi.SECCOMP_RET_TRAP;
                return true;
            case "SCMP_ACT_ERRNO":
                action = SeccompAbi.SECCOMP_RET_ERRNO | data;
                return true;
            case "SCMP_ACT_TRACE":
                action = SeccompAbi.SECCOMP_RET_TRACE | data;
                return true;
            case "SCMP_ACT_LOG":
                action = SeccompAbi.SECCOMP_RET_LOG;
                return true;
            case "SCMP_ACT_ALLOW":
                action = SeccompAbi.SECCOMP_RET_ALLOW;
                return true;
            case "SCMP_ACT_NOTIFY":
                error = "SCMP_ACT_NOTIFY: seccomp user notification is not supported";
                break;
            default:
                error = $"unknown action \"{name}\"";
                break;
        }

        action = 0;
        return false;
    }

    private static bool TryCompare(string? op, out SeccompCompare compare)
    {
        compare = op switch
        {
            "SCMP_CMP_NE" => SeccompCompare.NotEqual,
            "SCMP_CMP_LT" => SeccompCompare.Less,
            "SCMP_CMP_LE" => SeccompCompare.LessOrEqual,
            "SCMP_CMP_EQ" => SeccompCompare.Equal,
            "SCMP_CMP_GE" => SeccompCompare.GreaterOrEqual,
            "SCMP_CMP_GT" => SeccompCompare.Greater,
            "SCMP_CMP_MASKED_EQ" => SeccompCompare.MaskedEqual,
            _ => (SeccompCompare)(-1),
        };
        return compare >= 0;
    }

    private static Dictionary<string, int> BuildNumbers()
    {
        var numbers = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int nr = 0; nr < Sysno.MaxSyscall; nr++)
        {
            string name = Sysno.Name(nr);
            if (!name.StartsWith("syscall_", StringComparison.Ordinal))
            {
                numbers.TryAdd(name, nr);
            }
        }

        return numbers;
    }
}
