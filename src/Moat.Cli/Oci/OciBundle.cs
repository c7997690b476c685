using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>Reads a bundle's config.json and turns it into a <see cref="SandboxPlan"/>, or says clearly what is wrong.</summary>
internal static class OciBundle
{
    public static OciSpec? Load(string bundle, out string error)
    {
        error = string.Empty;
        string path = Path.Combine(bundle, "config.json");
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = Diagnostics.LinuxError.Describe("open", path, e);
            return null;
        }

        try
        {
            OciSpec? spec = JsonSerializer.Deserialize(text, OciJson.Default.OciSpec);
            if (spec == null)
            {
                error = $"bundle {bundle}: config.json is empty";
            }

            return spec;
        }
        catch (JsonException e)
        {
            error = $"bundle {bundle}: invalid config.json: {e.Message}";
            return null;
        }
    }

    public static OciProcess? LoadProcess(string path, out string error)
    {
        error = string.Empty;
        try
        {
            OciProcess? p = JsonSerializer.Deserialize(File.ReadAllText(path), OciJson.Default.OciProcess);
            if (p == null)
            {
                error = $"process file {path} is empty";
            }

            return p;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = Diagnostics.LinuxError.Describe("open", path, e);
            return null;
        }
        catch (JsonException e)
        {
            error = $"process file {path}: {e.Message}";
            return null;
        }
    }

    public static SandboxPlan? Plan(OciSpec spec, string bundle, out string error)
    {
        if (spec.Root?.Path is not { Length: > 0 } rootPath)
        {
            error = "config.json: root.path must be set";
            return null;
        }

        string rootfs = Path.GetFullPath(Path.Combine(bundle, rootPath));
        if (!Directory.Exists(rootfs))
        {
            error = $"rootfs ({rootfs}) does not exist";
            return null;
        }

        if (spec.Process == null)
        {
            error = "config.json: process must be set";
            return null;
        }

        SeccompPolicy? seccomp = null;
        if (spec.Linux?.Seccomp is OciSeccomp profile)
        {
            seccomp = OciSeccompProfile.Compile(profile, out error);
            if (seccomp == null)
            {
                return null;
            }
        }

        spec.Process.Env = PasswdHome.WithDefault(spec.Process.Env, rootfs, spec.Process.User?.Uid ?? 0);
        SandboxProcessSpec? process = Process(spec.Process, seccomp, out error);
        if (process == null)
        {
            return null;
        }

        var plan = new SandboxPlan
        {
            Rootfs = rootfs,
            RootReadonly = spec.Root.Readonly,
            Process = process,
            // No hostname: a new UTS namespace starts with the host's name.
            Hostname = string.IsNullOrEmpty(spec.Hostname) ? Environment.MachineName : spec.Hostname,
            MaskedPaths = spec.Linux?.MaskedPaths ?? [],
            ReadonlyPaths = spec.Linux?.ReadonlyPaths ?? [],
        };
        foreach (OciNamespace ns in spec.Linux?.Namespaces ?? [])
        {
            // Only a network namespace with a path changes anything: the others the Sentry always has of its own.
            if (ns.Type == "network" && !string.IsNullOrEmpty(ns.Path))
            {
                plan.NetworkNamespace = ns.Path;
            }
            else if (ns.Type == "pid" && !string.IsNullOrEmpty(ns.Path))
            {
                plan.PidNamespace = ns.Path; // a pod's container may join its sandbox's (PodContainerCommand)
            }
            else if (!string.IsNullOrEmpty(ns.Path))
            {
                plan.Ignored.Add($"linux.namespaces: the {ns.Type} namespace at {ns.Path} is not joined; the sandbox has its own");
            }
        }

        // Host LSM profiles confine a host process; the Sentry is the sandbox's kernel, so there is nothing to load.
        if (!string.IsNullOrEmpty(spec.Process.ApparmorProfile))
        {
            plan.Ignored.Add($"process.apparmorProfile {spec.Process.ApparmorProfile}: not loaded; the Sentry confines the container itself");
        }

        if (!string.IsNullOrEmpty(spec.Process.SelinuxLabel))
        {
            plan.Ignored.Add($"process.selinuxLabel {spec.Process.SelinuxLabel}: not applied; the Sentry confines the container itself");
        }

        if (!OciResourceLimits.Apply(plan, spec.Linux?.Resources, out error))
        {
            return null;
        }

        foreach (OciMount m in spec.Mounts ?? [])
        {
            if (!AddMount(plan, m, out error))
            {
                return null;
            }
        }

        return plan;
    }

    /// <summary>
    /// An OCI process (config.json's, or an exec's) as the Sentry runs it, under the container's seccomp
    /// profile: runc applies linux.seccomp to exec'd processes too.
    /// </summary>
    public static SandboxProcessSpec? Process(OciProcess p, SeccompPolicy? seccomp, out string error, bool init = true)
    {
        error = string.Empty;
        if (p.Args is not { Count: > 0 })
        {
            error = "args must not be empty";
            return null;
        }

        string cwd = string.IsNullOrEmpty(p.Cwd) ? "/" : p.Cwd;
        if (!cwd.StartsWith('/'))
        {
            error = $"cwd {cwd} must be an absolute path";
            return null;
        }

        SandboxIdentity identity = new(p.User?.Uid ?? 0, p.User?.Gid ?? 0, p.User?.AdditionalGids ?? []);
        if (p.Capabilities is OciCapabilities caps)
        {
            if (!OciNames.TryCapabilitySet(caps.Effective, out ulong eff, out string bad) ||
                !OciNames.TryCapabilitySet(caps.Permitted, out ulong perm, out bad) ||
                !OciNames.TryCapabilitySet(caps.Inheritable, out ulong inh, out bad) ||
                !OciNames.TryCapabilitySet(caps.Bounding, out ulong bounding, out bad) ||
                !OciNames.TryCapabilitySet(caps.Ambient, out ulong ambient, out bad))
            {
                error = $"unknown capability \"{bad}\"";
                return null;
            }

            identity = identity with { CapEffective = eff, CapPermitted = perm, CapInheritable = inh, CapBounding = caps.Bounding != null ? bounding : null, CapAmbient = ambient };
        }

        var rlimits = new List<SandboxRlimit>();
        foreach (OciRlimit l in p.Rlimits ?? [])
        {
            int resource = OciNames.Rlimit(l.Type);
            if (resource < 0)
            {
                error = $"unknown rlimit type \"{l.Type}\"";
                return null;
            }

            rlimits.Add(new SandboxRlimit(resource, l.Soft, l.Hard));
        }

        return new SandboxProcessSpec
        {
            Argv = p.Args,
            Environment = p.Env ?? [],
            WorkingDirectory = cwd,
            Identity = identity,
            Rlimits = rlimits,
            NoNewPrivileges = p.NoNewPrivileges,
            // runc sets the umask for the container's init only (its setns init for exec leaves the runtime's, 022).
            Umask = init && p.User?.Umask is uint umask ? (int)(umask & 0x1FF) : null,
            Seccomp = seccomp,
            Terminal = p.Terminal,
        };
    }

    private static bool AddMount(SandboxPlan plan, OciMount m, out string error)
    {
        error = string.Empty;
        string dest = m.Destination ?? string.Empty;
        if (!dest.StartsWith('/'))
        {
            error = $"mount destination {dest} is not an absolute path";
            return false;
        }

        dest = CleanPath(dest);
        List<string> options = m.Options ?? [];
        bool bind = m.Type == "bind" || options.Contains("bind") || options.Contains("rbind");
        if (bind)
        {
            string source = Path.GetFullPath(m.Source ?? string.Empty);
            // A bind of the root's own directory onto itself adds nothing: the root already serves it.
            if (source.TrimEnd('/') == Path.Combine(plan.Rootfs, dest.TrimStart('/')).TrimEnd('/'))
            {
                return true;
            }

            // Served by the gofer as a volume; "ro" among the options makes it read-only.
            plan.Binds.Add(new BindMount(source, dest, options.Contains("ro"), options));
            return true;
        }

        switch (m.Type)
        {
            case "proc":
                // The Sentry's own /proc, always at /proc.
                if (dest != "/proc")
                {
                    error = $"proc mounted on {dest}: moat serves proc only at /proc";
                    return false;
                }

                return true;
            case "tmpfs":
                // /dev is the Sentry's own device directory.
                if (dest != "/dev")
                {
                    TmpfsMount? tmpfs = TmpfsMount.Create(dest, options, out string? tmpfsError);
                    if (tmpfs == null)
                    {
                        error = tmpfsError!;
                        return false;
                    }

                    plan.Tmpfs.Add(tmpfs);
                }

                return true;
            case "sysfs" when dest == "/sys":
            case "devpts" when dest == "/dev/pts":
            case "mqueue" when dest == "/dev/mqueue":
            case "cgroup" or "cgroup2" when dest == "/sys/fs/cgroup":
                // The Sentry's own sysfs, devpts, mqueue file system and cgroup (v2, whatever type the spec
                // names: runc mounts the host's hierarchy of either kind there), always mounted there.
                return true;
            case "sysfs" or "devpts" or "mqueue" or "cgroup" or "cgroup2":
                plan.Unprovided.Add($"{m.Type} on {dest}");
                return true;
            default:
                error = $"mount type {m.Type} on {dest} is not supported by moat";
                return false;
        }
    }

    /// <summary>An absolute path with "." and ".." resolved lexically and no repeated or trailing slash.</summary>
    internal static string CleanPath(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return "/" + string.Join('/', parts);
    }
}
