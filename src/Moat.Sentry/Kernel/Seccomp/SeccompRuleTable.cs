using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Seccomp;

/// <summary>
/// An OCI seccomp profile as a filter: the profile's rules indexed by call number, evaluated directly rather
/// than compiled to BPF. It sits in the same filter chain and answers with the same return values as a BPF
/// program, so precedence, actions and inheritance are shared; a lookup by number costs a few instructions
/// where a BPF translation of Docker's default profile (300-odd names) would run scores of jumps per call.
/// The answers are libseccomp's for the same profile: architecture check first (x32 numbers and i386 calls
/// take the default action when the profile lists their architecture, the bad-arch action otherwise), then
/// the first rule of the call whose argument conditions all hold, else the default action.
/// </summary>
internal sealed class SeccompRuleTable
{
    private readonly Rule[]?[] _byNr;
    private readonly uint _default;
    private readonly uint _badArch;
    private readonly bool _i386;
    private readonly bool _x32;

    public SeccompRuleTable(SeccompPolicy policy)
    {
        _default = policy.DefaultAction;
        _badArch = policy.BadArchAction;
        _i386 = policy.CoversI386;
        _x32 = policy.CoversX32;
        var lists = new Dictionary<int, List<Rule>>();
        int max = -1;
        foreach (SeccompPolicyRule r in policy.Rules)
        {
            if (r.Nr < 0 || r.Nr >= Sysno.MaxSyscall)
            {
                continue;
            }

            if (!lists.TryGetValue(r.Nr, out List<Rule>? l))
            {
                lists[r.Nr] = l = [];
            }

            l.Add(new Rule(r.Action, [.. r.Conditions]));
            max = System.Math.Max(max, r.Nr);
        }

        _byNr = new Rule[]?[max + 1];
        foreach (KeyValuePair<int, List<Rule>> kv in lists)
        {
            _byNr[kv.Key] = kv.Value.ToArray();
        }

        Length = policy.Rules.Count + 1;
    }

    /// <summary>What the table counts for against MAX_INSNS_PER_PATH: one per rule and one for the default.</summary>
    public int Length { get; }

    public uint Evaluate(in SeccompData data)
    {
        if (data.Arch != SeccompAbi.AUDIT_ARCH_X86_64)
        {
            return data.Arch == SeccompAbi.AUDIT_ARCH_I386 && _i386 ? _default : _badArch;
        }

        if ((data.Nr & SeccompAbi.X32_SYSCALL_BIT) != 0)
        {
            return _x32 ? _default : _badArch;
        }

        if ((uint)data.Nr < (uint)_byNr.Length && _byNr[data.Nr] is Rule[] rules)
        {
            foreach (Rule r in rules)
            {
                if (AllHold(r, data))
                {
                    return r.Action;
                }
            }
        }

        return _default;
    }

    private static bool AllHold(Rule r, in SeccompData data)
    {
        foreach (SeccompArgCondition c in r.Conditions)
        {
            if (!c.Matches(data.Arg(c.Index)))
            {
                return false;
            }
        }

        return true;
    }

    // Arrays, not the policy's lists: the table runs on every call and must not allocate an enumerator.
    private sealed record Rule(uint Action, SeccompArgCondition[] Conditions);
}
