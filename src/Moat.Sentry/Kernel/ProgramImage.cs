using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Loader;
using Moat.Sentry.Mm;
using Moat.Sentry.Vfs;

namespace Moat.Sentry.Kernel;

/// <summary>
/// The part of execve(2) that finds and loads a program: #! scripts (up to 4 levels, like Linux's
/// binfmt_script), then ELF files through the loader.
/// </summary>
internal static unsafe class ProgramImage
{
    private const int MaxInterpreterDepth = 4;
    private const int ShebangMax = 256;

    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="mm"/>. <paramref name="inRoot"/> resolves the paths a
    /// program names (its #! interpreter, its ELF interpreter) for a process with a root of its own (chroot), and
    /// <paramref name="root"/> is that root, for the paths the program is shown. <paramref name="filename"/> is
    /// the name execve was given (Linux's bprm->filename), when it differs from the path.
    /// Returns 0 or -errno with a reason.
    /// </summary>
    public static long Load(
        Kernel kernel,
        Vfs.Mounts.MountNamespace mounts,
        MemoryManager mm,
        string path,
        List<string> argv,
        IReadOnlyList<string> envp,
        Credentials creds,
        bool noNewPrivs,
        out LoadedImage image,
        out string executable,
        out Credentials execCreds,
        out string? error,
        Func<string, string>? inRoot = null,
        string root = "/",
        string? filename = null)
    {
        image = default;
        executable = path;
        execCreds = creds;

        // The name the program was asked for by (bprm->filename): AT_EXECFN, and what a #! interpreter gets.
        string execFn = filename ?? RootedPath.Show(root, path);
        string shown = execFn;
        for (int depth = 0; ; depth++)
        {
            IExecutableFile? file = HostExecutableFile.Open(kernel, mounts, path, creds, out long r);
            using var owner = file as IDisposable;
            if (file == null)
            {
                error = $"{path}: {Describe(r)}";
                return r;
            }

            byte[] head = new byte[ShebangMax];
            long n;
            fixed (byte* p = head)
            {
                n = file.ReadAt(0, p, (ulong)head.Length);
            }

            if (n < 0)
            {
                error = $"{path}: cannot read: {Errno.FromValue((int)-n).Name}";
                return n;
            }

            if (n >= 2 && head[0] == '#' && head[1] == '!')
            {
                if (depth >= MaxInterpreterDepth)
                {
                    error = $"{path}: too many levels of #! interpreters";
                    return -Errno.ELOOP.Value;
                }

                if (!TryParseShebang(head.AsSpan(2, (int)n - 2), out string interp, out string? arg))
                {
                    error = $"{path}: bad #! line";
                    return -Errno.ENOEXEC.Value;
                }

                // argv becomes: interpreter [arg] script-path original-argv[1..].
                argv[0] = shown;
                if (arg != null)
                {
                    argv.Insert(0, arg);
                }

                argv.Insert(0, interp);
                path = inRoot?.Invoke(interp) ?? interp;
                shown = interp;
                continue;
            }

            ElfFile? elf = ElfLoader.ParseHeaders(file, out error);
            if (elf == null)
            {
                error = $"{path}: cannot execute: {error}";
                return -Errno.ENOEXEC.Value;
            }

            executable = path;
            execCreds = CredentialsAfterExec(creds, file, noNewPrivs, out bool secure);
            var identity = new ElfLoader.AuxIdentity(execCreds.RealUid, execCreds.EffectiveUid, execCreds.RealGid, execCreds.EffectiveGid, secure);
            r = ElfLoader.Load(mm, file, elf, argv, envp, execFn, identity, ElfLoader.DefaultStackSize, OpenInterpreter, out image, out error);
            if (r < 0)
            {
                error = $"{path}: {error}";
            }

            return r;
        }

        (IExecutableFile? File, long Error) OpenInterpreter(string interpPath)
        {
            IExecutableFile? f = HostExecutableFile.Open(kernel, mounts, inRoot?.Invoke(interpPath) ?? interpPath, creds, out long e);
            return (f, e);
        }
    }

    /// <summary>
    /// The credentials a program runs with (bprm_fill_uid, cap_bprm_creds_from_file): the set-user-id and
    /// set-group-id bits of the binary actually loaded (a #! script's own bits are ignored, as Linux does) make
    /// its owner or group the effective id, unless its mount is nosuid or the task has no_new_privs; the saved
    /// ids become the effective ones; capabilities as <see cref="Credentials.AfterExec"/>. <paramref name="secure"/>
    /// is AT_SECURE: the ids differ, or a non-root caller gained capabilities.
    /// </summary>
    private static Credentials CredentialsAfterExec(Credentials creds, IExecutableFile file, bool noNewPrivs, out bool secure)
    {
        const uint SetUid = 0x800, SetGid = 0x400, GroupExec = 0x8;
        Credentials next = creds;
        if (!file.NoSuid && !noNewPrivs)
        {
            (uint mode, uint uid, uint gid) = file.Owner;
            if ((mode & SetUid) != 0)
            {
                next = next with { EffectiveUid = uid };
            }

            if ((mode & (SetGid | GroupExec)) == (SetGid | GroupExec))
            {
                next = next with { EffectiveGid = gid };
            }
        }

        // Linux's is_setid: the exec changed the effective ids (a process whose effective uid already differs
        // from its real one keeps its ambient set: caps_prctl checks it against the host kernel).
        bool setid = next.EffectiveUid != creds.EffectiveUid || next.EffectiveGid != creds.EffectiveGid;
        next = (next with { SavedUid = next.EffectiveUid, SavedGid = next.EffectiveGid }).AfterExec(setid);
        secure = next.EffectiveUid != next.RealUid || next.EffectiveGid != next.RealGid ||
            (creds.RealUid != 0 && (next.CapPermitted & ~creds.CapPermitted) != 0);
        return next;
    }

    private static bool TryParseShebang(ReadOnlySpan<byte> line, out string interp, out string? arg)
    {
        interp = string.Empty;
        arg = null;
        int nl = line.IndexOf((byte)'\n');
        if (nl >= 0)
        {
            line = line[..nl];
        }

        string s = LinuxString.Encoding.GetString(line).Trim(' ', '\t', '\r');
        if (s.Length == 0)
        {
            return false;
        }

        int sp = s.IndexOfAny([' ', '\t']);
        if (sp < 0)
        {
            interp = s;
            return true;
        }

        interp = s[..sp];
        string rest = s[sp..].Trim(' ', '\t');
        arg = rest.Length > 0 ? rest : null;
        return true;
    }

    /// <summary>Finds <paramref name="name"/> as a shell would: as a path if it has a slash, else on PATH.</summary>
    public static string? FindOnPath(Kernel kernel, Vfs.Mounts.MountNamespace mounts, string name, string? pathVar, string cwd, Credentials creds)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return name.StartsWith('/') ? name : PathResolver.Clean(cwd + "/" + name);
        }

        foreach (string dir in (pathVar ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            string d = dir.Length == 0 ? cwd : dir;
            string candidate = (d.StartsWith('/') ? d : cwd + "/" + d).TrimEnd('/') + "/" + name;
            IExecutableFile? f = HostExecutableFile.Open(kernel, mounts, candidate, creds, out _);
            (f as IDisposable)?.Dispose();
            if (f != null)
            {
                return candidate;
            }
        }

        return null;
    }

    private static string Describe(long err) => -err switch
    {
        2 => "No such file or directory",
        13 => "Permission denied",
        20 => "Not a directory",
        40 => "Too many levels of symbolic links",
        _ => Errno.FromValue((int)-err).Name,
    };
}
