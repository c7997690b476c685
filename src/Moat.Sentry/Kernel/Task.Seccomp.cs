using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel.Seccomp;
using Moat.Sentry.Syscalls.Linux;

namespace Moat.Sentry.Kernel;

/// <summary>seccomp: the task's filters, checked before every system call is served, and how they are installed.</summary>
internal sealed partial class Task
{
    // Written under Kernel.TreeMu (by the task itself, or by another thread of its group with TSYNC); read
    // without a lock by the task's own thread on each system call. The chain is immutable.
    private SeccompFilter? _seccomp;

    /// <summary>The task's seccomp chain: null (mode 0), <see cref="SeccompFilter.Strict"/>, or its filters.</summary>
    public SeccompFilter? Seccomp => Volatile.Read(ref _seccomp);

    /// <summary>The mode PR_GET_SECCOMP and /proc/PID/status report.</summary>
    public int SeccompMode => Seccomp?.Mode ?? SeccompAbi.SECCOMP_MODE_DISABLED;

    /// <summary>
    /// Gives a new task the seccomp state of the task that created it. Fork, clone and execve keep filters.
    /// Precondition: Kernel.TreeMu is held (so a TSYNC of the creator's group cannot slip between the copy
    /// and the new thread joining the group).
    /// </summary>
    public void InheritSeccompLocked(Task creator) => _seccomp = creator._seccomp;

    /// <summary>Enters strict mode (SECCOMP_SET_MODE_STRICT), or EINVAL when filters are already installed.</summary>
    public Errno SetSeccompStrict()
    {
        lock (Kernel.TreeMu)
        {
            if (_seccomp != null && !_seccomp.IsStrict)
            {
                return Errno.EINVAL;
            }

            Volatile.Write(ref _seccomp, SeccompFilter.Strict);
            return Errno.None;
        }
    }

    /// <summary>
    /// Installs a verified filter (SECCOMP_SET_MODE_FILTER). With <paramref name="tsync"/>, every other thread of
    /// the process gets the caller's new chain (and its no_new_privs), provided each has no filter or one the
    /// caller's chain extends; otherwise nothing changes and the answer is that thread's tid (or -ESRCH with
    /// <paramref name="tsyncEsrch"/>). Returns 0 or -errno (EINVAL in strict mode, ENOMEM past MAX_INSNS_PER_PATH).
    /// </summary>
    public long AddSeccompFilter(BpfInstruction[] program, bool log, bool tsync, bool tsyncEsrch)
    {
        lock (Kernel.TreeMu)
        {
            if (tsync)
            {
                foreach (Task other in Group.Tasks)
                {
                    if (other != this && other.Exit == null && other._seccomp != null &&
                        (other._seccomp.IsStrict || _seccomp == null || !_seccomp.Extends(other._seccomp)))
                    {
                        return tsyncEsrch ? -Errno.ESRCH.Value : other.Tid;
                    }
                }
            }

            if (_seccomp != null && _seccomp.IsStrict)
            {
                return -Errno.EINVAL.Value;
            }

            SeccompFilter? added = SeccompFilter.Attach(_seccomp, program, log, out Errno err);
            if (added == null)
            {
                return -err.Value;
            }

            Volatile.Write(ref _seccomp, added);
            if (tsync)
            {
                foreach (Task other in Group.Tasks)
                {
                    if (other != this && other.Exit == null)
                    {
                        Volatile.Write(ref other._seccomp, added);
                        other.NoNewPrivs |= NoNewPrivs;
                    }
                }
            }

            return 0;
        }
    }

    /// <summary>Installs a start-up profile (OCI linux.seccomp) before the task first runs.</summary>
    public void InstallSeccompPolicy(SeccompPolicy policy)
    {
        lock (Kernel.TreeMu)
        {
            _seccomp = SeccompFilter.Attach(_seccomp, new SeccompRuleTable(policy), policy.Log, out _) ?? _seccomp;
        }
    }

    /// <summary>
    /// Runs the task's filters on the call about to be served. Returns true when the call is to run; otherwise
    /// the filter has answered (the return register is set, a SIGSYS delivered, or the task is exiting) and
    /// <paramref name="result"/> is the call's result for signal handling.
    /// </summary>
    private bool SeccompAllows(SeccompFilter filter, int nr, uint arch, ulong ip, in SyscallArgs args, out long result)
    {
        result = 0;
        if (filter.IsStrict)
        {
            // The i386 numbers of read, write, exit and sigreturn pass too, as Linux's compat list lets them.
            if (arch == SeccompAbi.AUDIT_ARCH_X86_64 ? nr is Sysno.read or Sysno.write or Sysno.exit or Sysno.rt_sigreturn : nr is 3 or 4 or 1 or 119)
            {
                return true;
            }

            // Linux ends only the calling thread, with SIGKILL.
            Kernel.Log.WriteLine($"moat: seccomp: pid {Tid} ({Group.ExecutablePath}) killed in strict mode by {Sysno.Name(nr)}");
            RequestExit(ExitStatus.Killed(Signal.SIGKILL));
            return false;
        }

        var data = new SeccompData(nr, arch, ip, args[0], args[1], args[2], args[3], args[4], args[5]);
        uint ret = filter.Evaluate(data, out bool log);
        uint action = ret & SeccompAbi.SECCOMP_RET_ACTION_FULL;
        int value = (int)(ret & SeccompAbi.SECCOMP_RET_DATA);
        switch (action)
        {
            case SeccompAbi.SECCOMP_RET_ALLOW:
                return true;
            case SeccompAbi.SECCOMP_RET_LOG:
                Kernel.Log.WriteLine($"moat: seccomp: pid {Tid} ({Group.ExecutablePath}) {Sysno.Name(nr)} allowed and logged (SECCOMP_RET_LOG)");
                return true;
            case SeccompAbi.SECCOMP_RET_ERRNO:
                LogSeccomp(log, nr, "ERRNO");
                result = -System.Math.Min(value, SeccompAbi.MAX_ERRNO);
                break;
            case SeccompAbi.SECCOMP_RET_TRACE:
            case SeccompAbi.SECCOMP_RET_USER_NOTIF:
                // No tracer can attach inside the sandbox and no listener exists: Linux answers ENOSYS then.
                LogSeccomp(log, nr, action == SeccompAbi.SECCOMP_RET_TRACE ? "TRACE" : "USER_NOTIF");
                result = -Errno.ENOSYS.Value;
                break;
            case SeccompAbi.SECCOMP_RET_TRAP:
                LogSeccomp(log, nr, "TRAP");

                // The handler sees the registers as they were: rax back to the number, as syscall_rollback does.
                _regs.rax = _regs.orig_rax;
                ForceSignal(new SigInfo
                {
                    si_signo = Signal.SIGSYS,
                    si_code = SeccompAbi.SYS_SECCOMP,
                    si_errno = value,
                    si_call_addr = ip,
                    si_syscall = nr,
                    si_arch = arch,
                });
                result = (long)_regs.orig_rax;
                return false;
            default:
                // KILL_THREAD, KILL_PROCESS and unknown actions. KILL_THREAD ends only this thread unless it is
                // the last one; otherwise the whole process dies by SIGSYS, whatever its handler (no core file:
                // the Sentry writes none).
                Kernel.Log.WriteLine($"moat: seccomp: pid {Tid} ({Group.ExecutablePath}) killed by SIGSYS for {Sysno.Name(nr)} (filter returned 0x{ret:x8})");
                if (action == SeccompAbi.SECCOMP_RET_KILL_THREAD && !IsLastLiveThread())
                {
                    RequestExit(ExitStatus.Killed(Signal.SIGSYS));
                }
                else
                {
                    Kernel.ExitGroup(this, ExitStatus.Killed(Signal.SIGSYS));
                }

                return false;
        }

        _regs.rax = (ulong)result;
        return false;
    }

    private void LogSeccomp(bool requested, int nr, string action)
    {
        if (requested)
        {
            Kernel.Log.WriteLine($"moat: seccomp: pid {Tid} ({Group.ExecutablePath}) {Sysno.Name(nr)}: {action}");
        }
    }

    private bool IsLastLiveThread()
    {
        lock (Kernel.TreeMu)
        {
            foreach (Task t in Group.Tasks)
            {
                if (t != this && t.Exit == null)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
