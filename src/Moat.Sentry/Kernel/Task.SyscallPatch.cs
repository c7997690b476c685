using Moat.Abi;
using Moat.Platform;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Syscall-site patching (docs/systrap-platform.md, "Syscall-site patching"), as the task's run loop sees it:
/// a syscall that trapped at a patchable site has the site rewritten, and the SIGILL a half-patched or restarted
/// site raises is the Sentry's own business, never the app's.
/// </summary>
internal sealed partial class Task
{
    // Runs after each switch while the platform patches; the event stays the same unless it was ours.
    private SwitchEvent OnSyscallPatchingEvent(ISyscallPatching patching, in SwitchEvent ev)
    {
        if (ev.Kind == SwitchEventKind.Syscall)
        {
            // A traced task is never patched: a tracer that single-steps would walk through stub code.
            if (Context.SyscallSitePatchable && Tracer == null)
            {
                MM.TryPatchSyscallSite(patching, _regs.rip, _regs.orig_rax);
            }

            return ev;
        }

        if (ev.Kind != SwitchEventKind.Signal || ev.Info.si_signo != Signal.SIGILL || !MM.IsPatchedSiteFault(patching, _regs.rip, out ulong site))
        {
            return ev;
        }

        if (_regs.rax == Sysno.restart_syscall)
        {
            // A restarted call reached the syscall's place with restart_syscall in rax: serve it as the syscall
            // instruction would have (the jump would serve the site's own number instead).
            _regs.rip += 2;
            _regs.orig_rax = _regs.rax;
            _regs.rax = unchecked((ulong)-Errno.ENOSYS.Value);
            _regs.rcx = _regs.rip;
            _regs.r11 = _regs.eflags;
            return new SwitchEvent(SwitchEventKind.Syscall, default);
        }

        // The old mov ran while the site was rewritten, or a call restarts: run the site's jump.
        _regs.rip = site;
        return new SwitchEvent(SwitchEventKind.Interrupted, default);
    }
}
