using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Loader;

/// <summary>
/// Writes the initial process stack as Linux lays it out (fs/binfmt_elf.c create_elf_tables): from the top,
/// a null word, execfn, envp strings above argv strings, the platform string and 16 random bytes, then a
/// 16-byte aligned block of argc, argv[], NULL, envp[], NULL, auxv pairs, AT_NULL.
/// </summary>
internal static class StackBuilder
{
    /// <summary>Linux's limit on argv + envp string space is a quarter of the stack limit; we use the same.</summary>
    public static long Build(
        MemoryManager mm,
        ulong stackTop,
        IReadOnlyList<string> argv,
        IReadOnlyList<string> envp,
        string execFn,
        List<(ulong Key, ulong Value)> aux,
        out ulong sp,
        out ulong argStart,
        out ulong argEnd,
        out ulong envStart,
        out ulong envEnd)
    {
        sp = argStart = argEnd = envStart = envEnd = 0;
        ulong p = stackTop - 8; // a null word at the very top

        byte[] fn = ElfLoader.CString(execFn);
        p -= (ulong)fn.Length;
        ulong execFnAddr = p;
        if (mm.CopyOut(p, fn, AccessType.Force) < 0)
        {
            return -Errno.EFAULT.Value;
        }

        var envAddrs = new ulong[envp.Count];
        envEnd = p;
        for (int i = envp.Count - 1; i >= 0; i--)
        {
            byte[] b = ElfLoader.CString(envp[i]);
            p -= (ulong)b.Length;
            envAddrs[i] = p;
            if (mm.CopyOut(p, b, AccessType.Force) < 0)
            {
                return -Errno.E2BIG.Value;
            }
        }

        envStart = p;
        var argAddrs = new ulong[argv.Count];
        argEnd = p;
        for (int i = argv.Count - 1; i >= 0; i--)
        {
            byte[] b = ElfLoader.CString(argv[i]);
            p -= (ulong)b.Length;
            argAddrs[i] = p;
            if (mm.CopyOut(p, b, AccessType.Force) < 0)
            {
                return -Errno.E2BIG.Value;
            }
        }

        argStart = p;
        if (stackTop - p > ElfLoader.DefaultStackSize / 4)
        {
            return -Errno.E2BIG.Value;
        }

        byte[] platform = ElfLoader.CString("x86_64");
        p = (p - (ulong)platform.Length) & ~15UL;
        ulong platformAddr = p;
        mm.CopyOut(p, platform, AccessType.Force);

        Span<byte> random = stackalloc byte[16];
        Moat.Host.HostRandom.Fill(random);
        p -= 16;
        ulong randomAddr = p;
        mm.CopyOut(p, random, AccessType.Force);

        aux.Add((Auxv.AT_RANDOM, randomAddr));
        aux.Add((Auxv.AT_EXECFN, execFnAddr));
        aux.Add((Auxv.AT_PLATFORM, platformAddr));
        aux.Add((Auxv.AT_NULL, 0));

        int words = 1 + argv.Count + 1 + envp.Count + 1 + (aux.Count * 2);
        p = (p - (ulong)(words * 8)) & ~15UL;
        byte[] block = new byte[words * 8];
        int w = 0;
        Put(block, ref w, (ulong)argv.Count);
        foreach (ulong a in argAddrs)
        {
            Put(block, ref w, a);
        }

        Put(block, ref w, 0);
        foreach (ulong e in envAddrs)
        {
            Put(block, ref w, e);
        }

        Put(block, ref w, 0);
        foreach ((ulong k, ulong v) in aux)
        {
            Put(block, ref w, k);
            Put(block, ref w, v);
        }

        if (mm.CopyOut(p, block, AccessType.Force) < 0)
        {
            return -Errno.E2BIG.Value;
        }

        // A copy the program cannot change, for /proc/pid/auxv (debuggers find a PIE's load address there).
        mm.SavedAuxv = block.AsSpan((words - (aux.Count * 2)) * 8).ToArray();
        sp = p;
        return 0;
    }

    private static void Put(byte[] block, ref int word, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(word * 8), value);
        word++;
    }
}
