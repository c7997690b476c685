using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Host;

/// <summary>
/// Builds the namespace launcher: a one-page static ELF (Moat's own code, like the stub) that starts a
/// process in fresh namespaces. A .NET process cannot unshare a user namespace (it always has threads) and
/// must not fork itself, so this single-threaded program does it between posix_spawn and the real execve:
/// <code>
/// prctl(NO_NEW_PRIVS); prctl(PDEATHSIG, SIGKILL)
/// unshare(flags)                  fails: exit(errno)
/// write(4, 1 byte); read(4, 1)    the parent writes our uid/gid maps meanwhile; fails: exit(200)
/// close(4); fork()                the child is PID 1 of the new PID namespace
///   child: prctl(PDEATHSIG, SIGKILL); execve(argv[1], argv + 1, envp); exit(127)
///   parent: wait4(child) and exit with its status (128 + signal when killed)
/// </code>
/// </summary>
public static class LauncherImage
{
    /// <summary>The exit status when the handshake with the parent failed.</summary>
    public const int HandshakeFailed = 200;

    /// <summary>The fd of the handshake socket in the launcher.</summary>
    public const int HandshakeFd = 4;

    private const ulong Base = 0x400000;
    private const int PageSize = 4096;
    private const int CodeOffset = 0x100;

    public static byte[] Build(uint unshareFlags)
    {
        var a = new Asm();
        a.Bytes(0x48, 0x89, 0xE3); // mov rbx, rsp: rbx = &argc
        a.Bytes(0x48, 0x83, 0xEC, 0x40); // sub rsp, 64: scratch

        // prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); prctl(PR_SET_PDEATHSIG, SIGKILL)
        a.MovEax(157).MovEdi(38).MovEsi(1).Bytes(0x31, 0xD2, 0x45, 0x31, 0xD2, 0x45, 0x31, 0xC0).Syscall();
        a.MovEax(157).MovEdi(1).MovEsi(9).Syscall();

        // unshare(flags); on failure exit(errno)
        a.MovEax(272).MovEdi(unshareFlags).Syscall();
        a.Bytes(0x48, 0x85, 0xC0); // test rax, rax
        a.Jcc(0x84, "unshared"); // je
        a.Bytes(0x48, 0xF7, 0xD8); // neg rax
        a.Bytes(0x89, 0xC7); // mov edi, eax
        a.MovEax(231).Syscall();

        // Handshake: tell the parent we are in the new user namespace, wait until it wrote our maps.
        a.Label("unshared");
        a.Bytes(0xC6, 0x04, 0x24, 0x01); // mov byte [rsp], 1
        a.MovEax(1).MovEdi(HandshakeFd).Bytes(0x48, 0x89, 0xE6).MovEdx(1).Syscall(); // write(4, rsp, 1)
        a.Bytes(0x48, 0x83, 0xF8, 0x01).Jcc(0x85, "handshake_failed"); // cmp rax, 1; jne
        a.MovEax(0).MovEdi(HandshakeFd).Bytes(0x48, 0x89, 0xE6).MovEdx(1).Syscall(); // read(4, rsp, 1)
        a.Bytes(0x48, 0x83, 0xF8, 0x01).Jcc(0x85, "handshake_failed");
        a.MovEax(3).MovEdi(HandshakeFd).Syscall(); // close(4)

        // fork()
        a.MovEax(57).Syscall();
        a.Bytes(0x48, 0x85, 0xC0); // test rax, rax
        a.Jcc(0x84, "child"); // je
        a.Jcc(0x88, "handshake_failed"); // js: fork failed
        a.Bytes(0x49, 0x89, 0xC4); // mov r12, rax

        // wait4(child, rsp, 0, NULL), again on EINTR
        a.Label("wait");
        a.MovEax(61).Bytes(0x4C, 0x89, 0xE7, 0x48, 0x89, 0xE6, 0x31, 0xD2, 0x45, 0x31, 0xD2).Syscall();
        a.Bytes(0x48, 0x83, 0xF8, 0xFC).Jcc(0x84, "wait"); // cmp rax, -EINTR; je
        a.Bytes(0x48, 0x85, 0xC0).Jcc(0x88, "handshake_failed"); // test; js
        a.Bytes(0x8B, 0x04, 0x24); // mov eax, [rsp]: the status
        a.Bytes(0x89, 0xC7, 0x83, 0xE7, 0x7F); // mov edi, eax; and edi, 0x7f: the signal, if any
        a.Jcc(0x85, "signalled"); // jnz
        a.Bytes(0xC1, 0xE8, 0x08, 0x0F, 0xB6, 0xF8); // shr eax, 8; movzx edi, al
        a.MovEax(231).Syscall();
        a.Label("signalled");
        a.Bytes(0x81, 0xC7, 0x80, 0x00, 0x00, 0x00); // add edi, 128
        a.MovEax(231).Syscall();

        // The child: die with the launcher, then become the program.
        a.Label("child");
        a.MovEax(157).MovEdi(1).MovEsi(9).Syscall();
        a.Bytes(0x48, 0x8B, 0x7B, 0x10); // mov rdi, [rbx+16]: argv[1]
        a.Bytes(0x48, 0x8D, 0x73, 0x10); // lea rsi, [rbx+16]: &argv[1]
        a.Bytes(0x48, 0x8B, 0x0B); // mov rcx, [rbx]: argc
        a.Bytes(0x48, 0x8D, 0x54, 0xCB, 0x10); // lea rdx, [rbx+rcx*8+16]: envp
        a.MovEax(59).Syscall();
        a.MovEax(231).MovEdi(127).Syscall();

        a.Label("handshake_failed");
        a.MovEax(231).MovEdi(HandshakeFailed).Syscall();

        byte[] code = a.Finish();
        if (CodeOffset + code.Length > PageSize)
        {
            throw new InvalidOperationException("launcher code does not fit its page");
        }

        byte[] image = new byte[PageSize];
        OnePageElf.WriteHeaders(image, Base, Base + CodeOffset);
        code.CopyTo(image, CodeOffset);
        return image;
    }

    /// <summary>Just enough of an x86-64 assembler: raw bytes, 32-bit moves, and rel32 jumps to labels.</summary>
    private sealed class Asm
    {
        private readonly List<byte> _code = new();
        private readonly Dictionary<string, int> _labels = new();
        private readonly List<(int At, string Label)> _fixups = new();

        public Asm Bytes(params byte[] b)
        {
            _code.AddRange(b);
            return this;
        }

        public Asm MovEax(uint v) => Imm(0xB8, v);

        public Asm MovEdi(uint v) => Imm(0xBF, v);

        public Asm MovEsi(uint v) => Imm(0xBE, v);

        public Asm MovEdx(uint v) => Imm(0xBA, v);

        public Asm Syscall() => Bytes(0x0F, 0x05);

        /// <summary>A two-byte conditional jump (0F cc) with a rel32 to <paramref name="label"/>.</summary>
        public Asm Jcc(byte cc, string label)
        {
            Bytes(0x0F, cc, 0, 0, 0, 0);
            _fixups.Add((_code.Count, label));
            return this;
        }

        public void Label(string name) => _labels.Add(name, _code.Count);

        public byte[] Finish()
        {
            byte[] code = _code.ToArray();
            foreach ((int at, string label) in _fixups)
            {
                BinaryPrimitives.WriteInt32LittleEndian(code.AsSpan(at - 4), _labels[label] - at);
            }

            return code;
        }

        private Asm Imm(byte opcode, uint v)
        {
            _code.Add(opcode);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            _code.AddRange(b.ToArray());
            return this;
        }
    }
}
