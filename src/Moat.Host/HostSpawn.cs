using System;
using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// posix_spawn(3) without System.Diagnostics.Process, whose SIGCHLD reaping would steal ptrace stops.
/// glibc's posix_spawn uses CLONE_VM|CLONE_VFORK and is safe from a multi-threaded runtime.
/// </summary>
public static unsafe class HostSpawn
{
    /// <summary>
    /// Starts <paramref name="path"/> with the given argv and envp. In the child, each (from, to) pair of
    /// <paramref name="dup2"/> is applied (as if all at once: a source that is another pair's target is handed
    /// over through a copy), then each fd of <paramref name="close"/> is closed. The child starts
    /// with an empty signal mask and default dispositions for every signal.
    /// </summary>
    /// <returns>The child's pid, or -errno.</returns>
    /// <param name="newSession">Start the child in a session of its own (setsid), away from the terminal's signals.</param>
    public static int Spawn(string path, ReadOnlySpan<string> argv, ReadOnlySpan<string> envp, ReadOnlySpan<(int From, int To)> dup2, ReadOnlySpan<int> close, bool newSession = false)
    {
        byte[] pathBytes = ToCString(path);
        byte[][] argvBytes = new byte[argv.Length][];
        for (int i = 0; i < argv.Length; i++)
        {
            argvBytes[i] = ToCString(argv[i]);
        }

        byte[][] envBytes = new byte[envp.Length][];
        for (int i = 0; i < envp.Length; i++)
        {
            envBytes[i] = ToCString(envp[i]);
        }

        byte* actions = stackalloc byte[Interop.Libc.FileActionsSize];
        byte* attr = stackalloc byte[Interop.Libc.SpawnAttrSize];
        byte* sigset = stackalloc byte[128];
        nint* argvPtrs = stackalloc nint[argv.Length + 1];
        nint* envPtrs = stackalloc nint[envp.Length + 1];
        Span<int> copies = stackalloc int[dup2.Length];
        int copyCount = 0;

        var pins = new System.Runtime.InteropServices.GCHandle[argv.Length + envp.Length + 1];
        try
        {
            int n = 0;
            pins[n++] = System.Runtime.InteropServices.GCHandle.Alloc(pathBytes, System.Runtime.InteropServices.GCHandleType.Pinned);
            for (int i = 0; i < argv.Length; i++)
            {
                pins[n] = System.Runtime.InteropServices.GCHandle.Alloc(argvBytes[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                argvPtrs[i] = pins[n++].AddrOfPinnedObject();
            }

            argvPtrs[argv.Length] = 0;
            for (int i = 0; i < envp.Length; i++)
            {
                pins[n] = System.Runtime.InteropServices.GCHandle.Alloc(envBytes[i], System.Runtime.InteropServices.GCHandleType.Pinned);
                envPtrs[i] = pins[n++].AddrOfPinnedObject();
            }

            envPtrs[envp.Length] = 0;

            Interop.Libc.posix_spawn_file_actions_init(actions);
            Interop.Libc.posix_spawnattr_init(attr);
            try
            {
                for (int i = 0; i < dup2.Length; i++)
                {
                    int from = dup2[i].From;
                    if (IsOtherTarget(dup2, i, from))
                    {
                        // The child applies the dup2s in order: an earlier one would overwrite this source
                        // (a stub once got the MemoryFile as its mapper's request page this way). Hand the
                        // child a copy above every target instead.
                        long high = HostFile.Fcntl(from, HostFile.F_DUPFD_CLOEXEC, AboveTargets(dup2));
                        if (high < 0)
                        {
                            return (int)high;
                        }

                        from = (int)high;
                        copies[copyCount++] = from;
                    }

                    Interop.Libc.posix_spawn_file_actions_adddup2(actions, from, dup2[i].To);
                }

                foreach (int fd in close)
                {
                    Interop.Libc.posix_spawn_file_actions_addclose(actions, fd);
                }

                Interop.Libc.sigemptyset(sigset);
                Interop.Libc.posix_spawnattr_setsigmask(attr, sigset);
                Interop.Libc.sigfillset(sigset);
                Interop.Libc.posix_spawnattr_setsigdefault(attr, sigset);
                short spawnFlags = Interop.Libc.POSIX_SPAWN_SETSIGMASK | Interop.Libc.POSIX_SPAWN_SETSIGDEF;
                if (newSession)
                {
                    spawnFlags |= Interop.Libc.POSIX_SPAWN_SETSID;
                }

                Interop.Libc.posix_spawnattr_setflags(attr, spawnFlags);

                int err = Interop.Libc.posix_spawn(out int pid, (byte*)pins[0].AddrOfPinnedObject(), actions, attr, (byte**)argvPtrs, (byte**)envPtrs);
                return err != 0 ? -err : pid;
            }
            finally
            {
                Interop.Libc.posix_spawnattr_destroy(attr);
                Interop.Libc.posix_spawn_file_actions_destroy(actions);
                for (int i = 0; i < copyCount; i++)
                {
                    HostFile.Close(copies[i]);
                }
            }
        }
        finally
        {
            foreach (var h in pins)
            {
                if (h.IsAllocated)
                {
                    h.Free();
                }
            }
        }
    }

    // Whether fd is the target of a dup2 other than the index'th.
    private static bool IsOtherTarget(ReadOnlySpan<(int From, int To)> dup2, int index, int fd)
    {
        for (int j = 0; j < dup2.Length; j++)
        {
            if (j != index && dup2[j].To == fd)
            {
                return true;
            }
        }

        return false;
    }

    private static int AboveTargets(ReadOnlySpan<(int From, int To)> dup2)
    {
        int max = 2;
        foreach ((_, int to) in dup2)
        {
            max = Math.Max(max, to);
        }

        return max + 1;
    }

    private static byte[] ToCString(string s)
    {
        byte[] b = new byte[LinuxString.Encoding.GetByteCount(s) + 1];
        LinuxString.Encoding.GetBytes(s, b);
        return b;
    }
}
