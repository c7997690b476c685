using System;
using Moat.Abi;

namespace Moat.Platform;

/// <summary>What stopped the application and returned control to the Sentry.</summary>
public enum SwitchEventKind
{
    /// <summary>The app made a system call; registers hold its number (orig_rax) and arguments.</summary>
    Syscall,

    /// <summary>The app took a signal from the CPU or the host (fault, trap); see <see cref="SwitchEvent.Info"/>.</summary>
    Signal,

    /// <summary>The context was interrupted by <see cref="IContext.Interrupt"/>.</summary>
    Interrupted,

    /// <summary>The host process running the app died: the address space is gone.</summary>
    AddressSpaceLost,

    /// <summary>
    /// The app made a 32-bit system call from 64-bit code (<c>int 0x80</c>, or <c>sysenter</c>): registers hold
    /// its i386 number (orig_rax) and arguments. The host did not run it.
    /// </summary>
    Syscall32,

    /// <summary>
    /// The app called into the vsyscall page: registers hold the syscall it stands for (orig_rax) and its
    /// arguments, with the page's ret already done (rip is the caller); <see cref="SwitchEvent.Info"/>'s
    /// si_addr is the address called.
    /// </summary>
    Vsyscall,
}

/// <summary>The outcome of <see cref="IContext.Switch"/>.</summary>
public readonly struct SwitchEvent
{
    public SwitchEvent(SwitchEventKind kind, in SigInfo info)
    {
        Kind = kind;
        Info = info;
    }

    public SwitchEventKind Kind { get; }

    /// <summary>For <see cref="SwitchEventKind.Signal"/>: the host's siginfo (signal, code, fault address).</summary>
    public SigInfo Info { get; }

    /// <summary>
    /// For a SIGSEGV: the x86 page-fault error code the host gave the signal handler (bit 1: a write), or -1
    /// where the platform cannot see it (ptrace shows no signal frame).
    /// </summary>
    public long FaultErrorCode { get; init; } = -1;
}

/// <summary>The execution context of one task: runs its registers in an address space.</summary>
public interface IContext : IDisposable
{
    /// <summary>
    /// Binds this context to <paramref name="addressSpace"/> on the calling thread, with a token from
    /// <see cref="IAddressSpace.PrepareThread"/>, or null for the first context of a new address space
    /// (which must run on the thread that created it). Returns 0 or a negative errno.
    /// </summary>
    long Attach(IAddressSpace addressSpace, object? token);

    /// <summary>
    /// Lets go of what <see cref="Attach"/> took, on the same thread, when the task leaves the address
    /// space (exit, execve) while the address space lives on.
    /// </summary>
    void Detach(IAddressSpace addressSpace);

    /// <summary>
    /// Loads <paramref name="regs"/>, runs app code in <paramref name="addressSpace"/> until the next event, and
    /// writes the registers back.
    /// Preconditions: on the ptrace platform, called from the thread that created the address space.
    /// </summary>
    SwitchEvent Switch(IAddressSpace addressSpace, ref PtraceRegs regs);

    /// <summary>
    /// Reads the task's x87/SSE state in FXSAVE layout (512 bytes) as it was at the last switch out.
    /// Preconditions: as for <see cref="Switch"/>, and the context is not running.
    /// </summary>
    long GetFpState(IAddressSpace addressSpace, Span<byte> fxsave);

    /// <summary>Replaces the task's x87/SSE state with an FXSAVE image (512 bytes).</summary>
    long SetFpState(IAddressSpace addressSpace, ReadOnlySpan<byte> fxsave);

    /// <summary>
    /// CPU time the task's host thread has used since <see cref="Attach"/>, in nanoseconds (0 when not
    /// attached). Callable from any thread; never decreases while attached.
    /// </summary>
    long ThreadCpuRuntimeNs() => 0;

    /// <summary>That CPU time split into user and system time, in nanoseconds.</summary>
    (long User, long System) ThreadCpuTime() => (0, 0);

    /// <summary>
    /// After a <see cref="SwitchEventKind.Syscall"/>: whether it trapped at a real <c>syscall</c> instruction that
    /// <see cref="IPlatform.SyscallPatching"/> could rewrite (false when it came through a patched site already,
    /// or the platform does not patch).
    /// </summary>
    bool SyscallSitePatchable => false;

    /// <summary>Makes a running or future <see cref="Switch"/> return <see cref="SwitchEventKind.Interrupted"/> soon.</summary>
    void Interrupt();
}
