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
    /// <paramref name="root"/> is that root, for the paths the program is shown.
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
        out LoadedImage image,
        out string executable,
        out string? error,
        Func<string, string>? inRoot = null,
        string root = "/")
    {
        image = default;
        executable = path;
        string execFn = RootedPath.Show(root, path);
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
                argv[0] = RootedPath.Show(root, path);
                if (arg != null)
                {
                    argv.Insert(0, arg);
                }

                argv.Insert(0, interp);
                path = inRoot?.Invoke(interp) ?? interp;
                continue;
            }

            ElfFile? elf = ElfLoader.ParseHeaders(file, out error);
            if (elf == null)
            {
                error = $"{path}: cannot execute: {error}";
                return -Errno.ENOEXEC.Value;
            }

            executable = path;
            r = ElfLoader.Load(mm, file, elf, argv, envp, execFn, new ElfLoader.AuxIdentity(creds.RealUid, creds.EffectiveUid, creds.RealGid, creds.EffectiveGid), ElfLoader.DefaultStackSize, OpenInterpreter, out image, out error);
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
    public static string? FindOnPath(Kernel kernel, string name, string? pathVar, string cwd, Credentials creds)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return name.StartsWith('/') ? name : PathResolver.Clean(cwd + "/" + name);
        }

        foreach (string dir in (pathVar ?? "/usr/local/bin:/usr/bin:/bin").Split(':'))
        {
            string d = dir.Length == 0 ? cwd : dir;
            string candidate = (d.StartsWith('/') ? d : cwd + "/" + d).TrimEnd('/') + "/" + name;
            IExecutableFile? f = HostExecutableFile.Open(kernel, kernel.Mounts, candidate, creds, out _);
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
