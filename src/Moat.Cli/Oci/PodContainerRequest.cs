using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Moat.Cli.Oci;

/// <summary>
/// What <c>moat oci-container</c> sends a running sandbox to make a further container of its pod in it: the
/// container's config.json (HOME already defaulted from its passwd) and its mounts as planned on the host, where
/// the rootfs and the binds can be looked at (the jailed Sentry cannot see host paths).
/// </summary>
internal sealed class PodContainerRequest
{
    [JsonPropertyName("id")]
    public string Id { get; set; } = string.Empty;

    [JsonPropertyName("rootfs")]
    public string Rootfs { get; set; } = string.Empty;

    [JsonPropertyName("spec")]
    public OciSpec Spec { get; set; } = new();

    [JsonPropertyName("tmpfs")]
    public List<PodMount> Tmpfs { get; set; } = [];

    [JsonPropertyName("binds")]
    public List<PodMount> Binds { get; set; } = [];

    /// <summary>Whether the container joins the pod's PID namespace (its sandbox container's) rather than having its own.</summary>
    [JsonPropertyName("sharePodPidNamespace")]
    public bool SharePodPidNamespace { get; set; }
}

/// <summary>A tmpfs mount (no source) or a bind of a pod container, as planned.</summary>
internal sealed class PodMount
{
    [JsonPropertyName("source")]
    public string? Source { get; set; }

    [JsonPropertyName("destination")]
    public string Destination { get; set; } = string.Empty;

    [JsonPropertyName("readOnly")]
    public bool ReadOnly { get; set; }

    [JsonPropertyName("isFile")]
    public bool IsFile { get; set; }

    [JsonPropertyName("options")]
    public List<string> Options { get; set; } = [];
}
