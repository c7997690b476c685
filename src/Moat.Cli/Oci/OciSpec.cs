using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Moat.Cli.Oci;

// The parts of the OCI runtime spec (config.json) that Moat reads; unknown fields are ignored, as runc does.

internal sealed class OciSpec
{
    [JsonPropertyName("ociVersion")]
    public string? OciVersion { get; set; }

    [JsonPropertyName("process")]
    public OciProcess? Process { get; set; }

    [JsonPropertyName("root")]
    public OciRoot? Root { get; set; }

    [JsonPropertyName("hostname")]
    public string? Hostname { get; set; }

    [JsonPropertyName("mounts")]
    public List<OciMount>? Mounts { get; set; }

    [JsonPropertyName("annotations")]
    public Dictionary<string, string>? Annotations { get; set; }

    [JsonPropertyName("linux")]
    public OciLinux? Linux { get; set; }
}

internal sealed class OciProcess
{
    [JsonPropertyName("terminal")]
    public bool Terminal { get; set; }

    [JsonPropertyName("user")]
    public OciUser? User { get; set; }

    [JsonPropertyName("args")]
    public List<string>? Args { get; set; }

    [JsonPropertyName("env")]
    public List<string>? Env { get; set; }

    [JsonPropertyName("cwd")]
    public string? Cwd { get; set; }

    [JsonPropertyName("capabilities")]
    public OciCapabilities? Capabilities { get; set; }

    [JsonPropertyName("rlimits")]
    public List<OciRlimit>? Rlimits { get; set; }

    [JsonPropertyName("noNewPrivileges")]
    public bool NoNewPrivileges { get; set; }

    [JsonPropertyName("apparmorProfile")]
    public string? ApparmorProfile { get; set; }

    [JsonPropertyName("selinuxLabel")]
    public string? SelinuxLabel { get; set; }
}

internal sealed class OciUser
{
    [JsonPropertyName("uid")]
    public uint Uid { get; set; }

    [JsonPropertyName("gid")]
    public uint Gid { get; set; }

    [JsonPropertyName("additionalGids")]
    public List<uint>? AdditionalGids { get; set; }

    [JsonPropertyName("umask")]
    public uint? Umask { get; set; }
}

internal sealed class OciCapabilities
{
    [JsonPropertyName("bounding")]
    public List<string>? Bounding { get; set; }

    [JsonPropertyName("effective")]
    public List<string>? Effective { get; set; }

    [JsonPropertyName("inheritable")]
    public List<string>? Inheritable { get; set; }

    [JsonPropertyName("permitted")]
    public List<string>? Permitted { get; set; }

    [JsonPropertyName("ambient")]
    public List<string>? Ambient { get; set; }
}

internal sealed class OciRlimit
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("soft")]
    public ulong Soft { get; set; }

    [JsonPropertyName("hard")]
    public ulong Hard { get; set; }
}

internal sealed class OciRoot
{
    [JsonPropertyName("path")]
    public string? Path { get; set; }

    [JsonPropertyName("readonly")]
    public bool Readonly { get; set; }
}

internal sealed class OciMount
{
    [JsonPropertyName("destination")]
    public string? Destination { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("source")]
    public string? Source { get; set; }

    [JsonPropertyName("options")]
    public List<string>? Options { get; set; }
}

internal sealed class OciLinux
{
    [JsonPropertyName("namespaces")]
    public List<OciNamespace>? Namespaces { get; set; }

    [JsonPropertyName("maskedPaths")]
    public List<string>? MaskedPaths { get; set; }

    [JsonPropertyName("readonlyPaths")]
    public List<string>? ReadonlyPaths { get; set; }

    [JsonPropertyName("seccomp")]
    public OciSeccomp? Seccomp { get; set; }

    [JsonPropertyName("resources")]
    public OciResources? Resources { get; set; }

    [JsonPropertyName("cgroupsPath")]
    public string? CgroupsPath { get; set; }
}

internal sealed class OciNamespace
{
    [JsonPropertyName("type")]
    public string Type { get; set; } = string.Empty;

    [JsonPropertyName("path")]
    public string? Path { get; set; }
}

internal sealed class OciResources
{
    [JsonPropertyName("memory")]
    public OciMemory? Memory { get; set; }

    [JsonPropertyName("pids")]
    public OciPids? Pids { get; set; }

    [JsonPropertyName("cpu")]
    public OciCpu? Cpu { get; set; }
}

internal sealed class OciMemory
{
    // Bytes; -1 (or absent) is no limit, as for the memory cgroup.
    [JsonPropertyName("limit")]
    public long? Limit { get; set; }

    [JsonPropertyName("reservation")]
    public long? Reservation { get; set; }

    [JsonPropertyName("swap")]
    public long? Swap { get; set; }
}

internal sealed class OciPids
{
    // 0 or -1 is no limit.
    [JsonPropertyName("limit")]
    public long Limit { get; set; }
}

internal sealed class OciCpu
{
    [JsonPropertyName("shares")]
    public ulong? Shares { get; set; }

    [JsonPropertyName("quota")]
    public long? Quota { get; set; }

    [JsonPropertyName("period")]
    public ulong? Period { get; set; }

    [JsonPropertyName("cpus")]
    public string? Cpus { get; set; }

    [JsonPropertyName("mems")]
    public string? Mems { get; set; }
}

internal sealed class OciSeccomp
{
    [JsonPropertyName("defaultAction")]
    public string? DefaultAction { get; set; }

    [JsonPropertyName("defaultErrnoRet")]
    public uint? DefaultErrnoRet { get; set; }

    [JsonPropertyName("architectures")]
    public List<string>? Architectures { get; set; }

    [JsonPropertyName("flags")]
    public List<string>? Flags { get; set; }

    [JsonPropertyName("listenerPath")]
    public string? ListenerPath { get; set; }

    [JsonPropertyName("syscalls")]
    public List<OciSyscallRule>? Syscalls { get; set; }
}

internal sealed class OciSyscallRule
{
    [JsonPropertyName("names")]
    public List<string>? Names { get; set; }

    [JsonPropertyName("action")]
    public string? Action { get; set; }

    [JsonPropertyName("errnoRet")]
    public uint? ErrnoRet { get; set; }

    [JsonPropertyName("args")]
    public List<OciSyscallArg>? Args { get; set; }
}

internal sealed class OciSyscallArg
{
    [JsonPropertyName("index")]
    public uint Index { get; set; }

    [JsonPropertyName("value")]
    public ulong Value { get; set; }

    [JsonPropertyName("valueTwo")]
    public ulong ValueTwo { get; set; }

    [JsonPropertyName("op")]
    public string? Op { get; set; }
}

/// <summary>What Moat keeps about a container under --root: written by create, read by every later verb.</summary>
internal sealed class ContainerRecord
{
    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    [JsonPropertyName("bundle")]
    public string Bundle { get; set; } = string.Empty;

    [JsonPropertyName("rootfs")]
    public string Rootfs { get; set; } = string.Empty;

    [JsonPropertyName("pid")]
    public int Pid { get; set; }

    // The pid's start time (field 22 of /proc/PID/stat): a reused pid is not our sandbox.
    [JsonPropertyName("pidStart")]
    public ulong PidStart { get; set; }

    [JsonPropertyName("created")]
    public string Created { get; set; } = string.Empty;

    [JsonPropertyName("annotations")]
    public Dictionary<string, string>? Annotations { get; set; }

    // A further container of a pod: the id of the pod's sandbox container, whose Sentry runs it. Null otherwise.
    [JsonPropertyName("sandboxId")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SandboxId { get; set; }

    // The host cgroup (a directory of the cpu hierarchy) the sandbox runs in, which delete removes. Null: none.
    [JsonPropertyName("cgroup")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Cgroup { get; set; }
}

/// <summary>The OCI state of a container, as <c>runc state</c> prints it.</summary>
internal sealed class OciState
{
    [JsonPropertyName("ociVersion")]
    public string OciVersion { get; set; } = "1.0.2";

    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    [JsonPropertyName("pid")]
    public int Pid { get; set; }

    [JsonPropertyName("status")]
    public string Status { get; set; } = string.Empty;

    [JsonPropertyName("bundle")]
    public string Bundle { get; set; } = string.Empty;

    [JsonPropertyName("rootfs")]
    public string Rootfs { get; set; } = string.Empty;

    [JsonPropertyName("created")]
    public string Created { get; set; } = string.Empty;

    [JsonPropertyName("owner")]
    public string Owner { get; set; } = string.Empty;

    [JsonPropertyName("annotations")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Annotations { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(OciSpec))]
[JsonSerializable(typeof(OciProcess))]
[JsonSerializable(typeof(OciResources))]
[JsonSerializable(typeof(ContainerRecord))]
[JsonSerializable(typeof(OciState))]
[JsonSerializable(typeof(List<OciState>))]
[JsonSerializable(typeof(PodContainerRequest))]
internal sealed partial class OciJson : JsonSerializerContext
{
}
