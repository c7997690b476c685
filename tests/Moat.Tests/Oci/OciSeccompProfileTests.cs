using System.Text.Json;
using Moat.Abi;
using Moat.Cli.Oci;
using Moat.Sentry;

namespace Moat.Tests.Oci;

public sealed class OciSeccompProfileTests
{
    private static SeccompPolicy? Compile(string json, out string error) =>
        OciSeccompProfile.Compile(JsonSerializer.Deserialize(json, OciJson.Default.OciSpec)!.Linux!.Seccomp!, out error);

    [Fact]
    public void Compile_DockerStyleProfile_AsRuncWould()
    {
        SeccompPolicy? p = Compile("""
            {"linux": {"seccomp": {
              "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
              "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "flags": ["SECCOMP_FILTER_FLAG_LOG"],
              "syscalls": [
                {"names": ["read", "write", "not_a_call"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}
              ]}}}
            """, out string error);
        Assert.True(p != null, error);
        Assert.Equal(SeccompAbi.SECCOMP_RET_ERRNO | 1, p.DefaultAction);
        Assert.True(p.CoversI386);
        Assert.True(p.CoversX32);
        Assert.True(p.Log);
        Assert.Equal(SeccompAbi.SECCOMP_RET_KILL_THREAD, p.BadArchAction);

        // keyctl's rule equals the default (ERRNO with EPERM): dropped, as libseccomp refuses it. not_a_call: ignored.
        Assert.Collection(
            p.Rules,
            r => Assert.Equal((Sysno.read, SeccompAbi.SECCOMP_RET_ALLOW, 0), (r.Nr, r.Action, r.Conditions.Count)),
            r => Assert.Equal((Sysno.write, SeccompAbi.SECCOMP_RET_ALLOW, 0), (r.Nr, r.Action, r.Conditions.Count)),
            r => Assert.Equal((Sysno.mkdir, SeccompAbi.SECCOMP_RET_ERRNO | 13, 0), (r.Nr, r.Action, r.Conditions.Count)),
            r =>
            {
                Assert.Equal(Sysno.clone, r.Nr);
                Assert.Equal([new SeccompArgCondition(0, SeccompCompare.MaskedEqual, 2114060288, 0)], r.Conditions);
            },
            r => Assert.Equal([new SeccompArgCondition(0, SeccompCompare.Equal, 0, 0)], r.Conditions), // two conditions on one argument: alternatives
            r => Assert.Equal([new SeccompArgCondition(0, SeccompCompare.Equal, 8, 0)], r.Conditions));
    }

    [Theory]
    [InlineData("""{"defaultAction": "SCMP_ACT_NOTIFY"}""", "not supported")]
    [InlineData("""{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/l.sock"}""", "not supported")]
    [InlineData("""{"defaultAction": "SCMP_ACT_MAYBE"}""", "unknown action")]
    [InlineData("""{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]}""", "unknown flag")]
    [InlineData("""{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["x86_64"]}""", "unknown architecture")]
    [InlineData("""{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["dup"], "action": "SCMP_ACT_KILL", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}""", "out of range")]
    [InlineData("""{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["dup"], "action": "SCMP_ACT_KILL", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}""", "unknown operator")]
    public void Compile_Unsupported_FailsWithTheReason(string seccomp, string reason)
    {
        Assert.Null(Compile("""{"linux": {"seccomp": """ + seccomp + "}}", out string error));
        Assert.Contains(reason, error, System.StringComparison.Ordinal);
    }
}
