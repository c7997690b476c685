using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Threading;
using Moat.Host;
using Moat.Sentry;

namespace Moat.Cli.Oci;

/// <summary>
/// The requests for further containers of a pod: "container N [PID]" from their <c>oci-container</c> process
/// (four one-byte messages with its stdio and its gofer's socket, then N bytes of <see cref="PodContainerRequest"/>),
/// and "in ID REQUEST" for one of them (start, kill, ps, exec).
/// </summary>
internal sealed partial class SandboxServer
{
    // A further container, the connection of its oci-container process (where "exit STATUS" goes) and its profile.
    private sealed class PodEntry(SandboxContainer container, Socket conn, SeccompPolicy? seccomp)
    {
        public SandboxContainer Container { get; } = container;

        public Socket Conn { get; } = conn;

        public SeccompPolicy? Seccomp { get; } = seccomp;

        public ManualResetEventSlim Announced { get; } = new(false);

        public ManualResetEventSlim Ended { get; } = new(false);

        private int _exited;

        // Sends "exit STATUS" once (init ended, or the container was dropped before it started).
        public void Exit(int status)
        {
            Announced.Wait();
            if (Interlocked.Exchange(ref _exited, 1) != 0)
            {
                return;
            }

            try
            {
                ControlChannel.WriteLine(Conn, "exit " + status.ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            Ended.Set();
        }
    }

    private static SafeFdHandle?[]? ReceiveFds(Socket conn, int count)
    {
        var fds = new SafeFdHandle?[count];
        Span<byte> one = stackalloc byte[1];
        for (int i = 0; i < count; i++)
        {
            long r = HostSocket.Receive((int)conn.Handle, one, out int fd);
            if (r <= 0)
            {
                foreach (SafeFdHandle? h in fds)
                {
                    h?.Dispose();
                }

                return null;
            }

            fds[i] = fd >= 0 ? new SafeFdHandle(fd) : null;
        }

        return fds;
    }

    private SeccompPolicy? ContainerSeccomp(SandboxContainer container)
    {
        lock (_mu)
        {
            return _containers.TryGetValue(container.Id, out PodEntry? e) ? e.Seccomp : null;
        }
    }

    private string InContainer(Socket conn, string id, string[] request, out bool keep)
    {
        keep = false;
        PodEntry? entry;
        SandboxControl? control;
        lock (_mu)
        {
            _containers.TryGetValue(id, out entry);
            control = _control;
        }

        if (entry == null || control == null)
        {
            return "error container not running";
        }

        SandboxContainer c = entry.Container;
        switch (request[0])
        {
            case "start":
                return control.StartContainer(c) ? "ok" : "error container already started";
            case "kill" when request.Length >= 2 && int.TryParse(request[1], NumberStyles.None, CultureInfo.InvariantCulture, out int sig):
                if (OciNames.TerminatesByDefault(sig) && control.RemoveContainer(c))
                {
                    // Before start: a fatal signal ends the container with it, as it ends runc's waiting init.
                    entry.Exit(128 + sig);
                    return "ok";
                }

                control.SignalContainer(c, sig, request.Length > 2 && request[2] == "all");
                return "ok";
            case "ps":
                return Ps(c);
            case "exec" when request.Length is 2 or 3 && int.TryParse(request[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n < 1 << 20:
                return Exec(conn, c, n, request.Length == 3 && int.TryParse(request[2], NumberStyles.None, CultureInfo.InvariantCulture, out int said) ? said : 0, out keep);
            default:
                return "error unknown request: " + string.Join(' ', request);
        }
    }

    // "container N [PID]": loads the container's init, held until "in ID start". The connection stays open:
    // signals come as "signal S" lines, "exit STATUS" goes back when init ends; its close ends the container.
    private string CreateContainer(Socket conn, int length, int saidPid, out bool keep)
    {
        keep = false;
        SafeFdHandle?[]? fds = ReceiveFds(conn, 4);
        if (fds == null)
        {
            return "error cannot receive the container's stdio and gofer";
        }

        SafeFdHandle?[] stdio = fds[..3];
        SafeFdHandle? gofer = fds[3];
        string error = "short container JSON";
        SandboxContainerSpec? spec = null;
        SeccompPolicy? seccomp = null;
        byte[]? json = ControlChannel.ReadExactly(conn, length);
        try
        {
            PodContainerRequest? request = json != null ? JsonSerializer.Deserialize(json, OciJson.Default.PodContainerRequest) : null;
            spec = request != null ? Plan(request, out seccomp, out error) : null;
        }
        catch (JsonException e)
        {
            error = "container JSON: " + e.Message;
        }

        SandboxControl? control;
        lock (_mu)
        {
            control = _control;
            if (spec is { Id: string id } && _containers.ContainsKey(id))
            {
                (spec, error) = (null, "container with id exists: " + id);
            }
        }

        if (spec == null || gofer == null || control == null)
        {
            foreach (SafeFdHandle? h in fds)
            {
                h?.Dispose();
            }

            return "error " + (control == null ? "the pod's sandbox is not running" : gofer == null ? "no gofer" : error);
        }

        PodEntry? entry = null;
        SandboxContainer? c = control.CreateContainer(spec, gofer, stdio, status => entry!.Exit(status), out string? createError);
        if (c == null)
        {
            return "error " + createError;
        }

        entry = new PodEntry(c, conn, seccomp);
        lock (_mu)
        {
            _containers[c.Id] = entry;
        }

        keep = true;
        try
        {
            ControlChannel.WriteLine(conn, "ok " + c.Pid.ToString(CultureInfo.InvariantCulture));
        }
        finally
        {
            entry.Announced.Set();
        }

        var relay = new Thread(() => RelayToContainer(entry, control)) { IsBackground = true, Name = "moat-oci-container" };
        relay.Start();
        return string.Empty;
    }

    // The container as the Sentry makes it: the process under its own seccomp profile, its mounts as planned.
    private static SandboxContainerSpec? Plan(PodContainerRequest request, out SeccompPolicy? seccomp, out string error)
    {
        seccomp = null;
        error = "config.json: process must be set";
        if (request.Spec.Linux?.Seccomp is OciSeccomp profile && (seccomp = OciSeccompProfile.Compile(profile, out error)) == null)
        {
            return null;
        }

        SandboxProcessSpec? process = request.Spec.Process != null ? OciBundle.Process(request.Spec.Process, seccomp, out error) : null;
        if (process == null)
        {
            return null;
        }

        var tmpfs = new List<TmpfsMount>();
        foreach (PodMount m in request.Tmpfs)
        {
            TmpfsMount? t = TmpfsMount.Create(m.Destination, m.Options, out string? tmpfsError);
            if (t == null)
            {
                error = tmpfsError!;
                return null;
            }

            tmpfs.Add(t);
        }

        var binds = new List<Moat.Sentry.BindMount>();
        foreach (PodMount m in request.Binds)
        {
            binds.Add(new Moat.Sentry.BindMount(m.Source ?? string.Empty, m.Destination, m.ReadOnly, m.IsFile) { Options = m.Options });
        }

        return new SandboxContainerSpec
        {
            Id = request.Id,
            Process = process,
            Rootfs = request.Rootfs,
            RootReadOnly = request.Spec.Root?.Readonly ?? false,
            TmpfsMounts = tmpfs,
            BindMounts = binds,
            MaskedPaths = request.Spec.Linux?.MaskedPaths ?? [],
            ReadonlyPaths = request.Spec.Linux?.ReadonlyPaths ?? [],
            SharesPodPidNamespace = request.SharePodPidNamespace,
        };
    }

    // Signals the oci-container process received go to the container's init; its end (delete) ends the container.
    private void RelayToContainer(PodEntry entry, SandboxControl control)
    {
        try
        {
            while (ControlChannel.ReadLine(entry.Conn) is string line)
            {
                string[] w = line.Split(' ');
                if (w.Length == 2 && w[0] == "signal" && int.TryParse(w[1], NumberStyles.None, CultureInfo.InvariantCulture, out int sig))
                {
                    control.SignalContainer(entry.Container, sig, all: false);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            if (!entry.Ended.IsSet && control.RemoveContainer(entry.Container))
            {
                entry.Exit(128 + Moat.Abi.Signal.SIGKILL);
            }

            entry.Ended.Wait();
            lock (_mu)
            {
                _containers.Remove(entry.Container.Id);
            }

            entry.Conn.Dispose();
        }
    }
}
