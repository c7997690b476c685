using System;
using System.IO;
using System.Text.Json;

namespace Moat.Cli.Oci;

/// <summary>
/// Containers' state under the runtime's --root: one directory per container holding state.json (written
/// by create), the sandbox's control socket, a "started" mark (written by the sandbox at start) and a "paused"
/// mark (not empty while the sandbox is paused: it is emptied at resume, as the confined Sentry cannot unlink).
/// </summary>
internal sealed class ContainerStore
{
    public const string StateFile = "state.json";
    public const string ControlSocket = "control.sock";
    public const string StartedMark = "started";
    public const string PausedMark = "paused";

    public ContainerStore(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public string Dir(string id) => Path.Combine(Root, id);

    /// <summary>runc's rule for ids: letters, digits, '_', '+', '-', '.', and not "." or "..".</summary>
    public static bool ValidId(string id)
    {
        if (id.Length == 0 || id == "." || id == "..")
        {
            return false;
        }

        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The container's record, or null (with a runc-style message) when there is none.</summary>
    public ContainerRecord? Load(string id, out string error)
    {
        error = "container does not exist";
        if (!ValidId(id))
        {
            error = $"invalid container id format: {id}";
            return null;
        }

        try
        {
            string text = File.ReadAllText(Path.Combine(Dir(id), StateFile));
            ContainerRecord? r = JsonSerializer.Deserialize(text, OciJson.Default.ContainerRecord);
            return r;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    public void Save(ContainerRecord r)
    {
        string dir = Dir(r.Id);
        string tmp = Path.Combine(dir, StateFile + ".tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(r, OciJson.Default.ContainerRecord));
        File.Move(tmp, Path.Combine(dir, StateFile), overwrite: true);
    }

    /// <summary>"created", "running", "paused" or "stopped", from the sandbox process and the marks the sandbox writes.</summary>
    public string Status(ContainerRecord r)
    {
        if (!HostPid.IsAlive(r.Pid, r.PidStart))
        {
            return "stopped";
        }

        // A further container of a pod is paused with its pod's sandbox.
        var paused = new FileInfo(Path.Combine(Dir(r.SandboxId ?? r.Id), PausedMark));
        if (paused.Exists && paused.Length > 0)
        {
            return "paused";
        }

        return File.Exists(Path.Combine(Dir(r.Id), StartedMark)) ? "running" : "created";
    }

    /// <summary>
    /// Whether the sandbox of <paramref name="id"/> let its init run: it writes the started mark before it opens
    /// the start gate, so a start whose reply was lost to the sandbox's exit (init ended at once) did start.
    /// </summary>
    public bool StartedBeforeExit(string id) => File.Exists(Path.Combine(Dir(id), StartedMark));

    public OciState State(ContainerRecord r)
    {
        string status = Status(r);
        return new OciState
        {
            Id = r.Id,
            Pid = status == "stopped" ? 0 : r.Pid,
            Status = status,
            Bundle = r.Bundle,
            Rootfs = r.Rootfs,
            Created = r.Created,
            Owner = string.Empty,
            Annotations = r.Annotations,
        };
    }

    public void Remove(string id)
    {
        try
        {
            Directory.Delete(Dir(id), recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
