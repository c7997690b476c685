# The systrap stub's code: assembled once by hand-run `as` and embedded as bytes in SystrapStubCode.cs
# (SystrapStubCodeTests reassembles this file when `as` is installed and checks the bytes still match).
# It is loaded at page offset 0x100 of the stub page at 0x7f0000000000; data it reads (sigaction, the
# two seccomp programs, the Sentry's pid) lives at fixed offsets of that page, written by SystrapStubImage.
#
# Threads of a stub process:
#  - the main thread (the "injector"): traced by the Sentry thread that created the process, idles in
#    pause() and runs the mmap/munmap/clone calls the Sentry injects, exactly as on the ptrace platform;
#  - one further injector per extra task (same code), traced by that task's Sentry thread;
#  - one mapper per stub: never traced. It runs the mapping changes the Sentry writes into the request page
#    (read-only here) and answers through a pipe (docs/systrap-platform.md, "the mapper thread");
#  - one app thread per task: never traced. It runs application code under filter F2, which turns every
#    syscall into SIGSYS; the handler below hands the trap to the Sentry through the thread's sysmsg
#    region (shared memory) and returns to the app with rt_sigreturn.

        .intel_syntax noprefix
        .text
        .set page, start - 0x100
        .set REGION, 0x8000             # one sysmsg region per app thread, aligned to its size
        .set HDR, 0x1000                # header page; the rest of the region is the signal stack
        .set ST_RUNNING, 0
        .set ST_TRAPPED, 1
        .set ST_RESUME, 2
        .set ST_EXIT, 3
        # header fields
        .set H_STATE, 0                 # u32 futex word
        .set H_SENTRY_WAITING, 4        # u32: the Sentry sleeps on H_STATE
        .set H_STUB_WAITING, 8          # u32: the stub sleeps on H_STATE
        .set H_SPIN, 12                 # u32: pause iterations before the stub sleeps
        .set H_UCONTEXT, 16             # u64 ucontext* of the trap
        .set H_SIGINFO, 24              # u64 siginfo* of the trap
        .set H_FSBASE, 32               # u64 fs base at the trap
        .set H_GSBASE, 40               # u64 gs base at the trap
        .set H_FSBASE_OUT, 48           # u64 fs base to resume with
        .set H_GSBASE_OUT, 56           # u64 gs base to resume with
        .set H_SEQ, 64                  # u32 count of traps: a state the stub did not set shows no new count
        .set H_SELF, 72                 # u64 the region's own address in the stub, written by the Sentry
        .set H_FP_DIRTY, 80             # u32: the Sentry changed the patched frame's FXSAVE image
        .set H_KICKED, 84               # u32: the Sentry's kick landed in the patched path, to be reported
        # The patched path's frame (docs/systrap-platform.md, "Syscall-site patching"): the first page after the
        # header, below the signal stack. Laid out as the kernel lays out a SIGSYS frame, so the Sentry reads both alike.
        .set PATCH, 0x1000
        .set P_SIGINFO, PATCH
        .set P_UC, PATCH + 0x80
        .set P_GREGS, P_UC + 40         # sigcontext: r8..r15 rdi rsi rbp rbx rdx rax rcx rsp rip eflags csgsfs
        .set P_FPSTATE, PATCH + 0x200   # FXSAVE image, 16-byte aligned
        .set P_STACK, PATCH + 0x1000    # top of the patched path's own stack
        .set SIGSTACK, PATCH + 0x1000   # the signal stack: the rest of the region
        .set UC_R8, 40
        .set UC_RSP, 40 + 15 * 8
        .set UC_RIP, 40 + 16 * 8
        # a trap-table entry (SyscallPatchTable): +8 the site's return address, +29 the fallback, +30 its number
        .set E_RET, 8
        .set E_FALLBACK, 29
        .set E_NR, 30
        # the mapper's request page, mapped read-only at page + MAPPER_PAGE
        .set MAPPER_PAGE, 0x10000
        .set M_SEQ, 0                   # u32 futex word: the Sentry bumps it for each request
        .set M_COUNT, 4                 # u32 calls in this request
        .set M_COOKIE, 8                # u64: the Sentry checks through ptrace that this page is its own (unused here)
        .set M_CALLS, 64                # 64 bytes each: nr, then the six arguments
        .set M_MAX, 63
        .set MAPPER_REPLY_FD, 6         # the write end of the Sentry's reply pipe

start:
        # prctl(PR_SET_PDEATHSIG, SIGKILL)
        mov eax, 157
        mov edi, 1
        mov esi, 9
        syscall
        # the Sentry must still be our parent, or no death signal will ever come
        mov eax, 110
        syscall
        cmp eax, dword ptr [rip + page + 0x7f0]
        jne fail
        # rt_sigaction(sig, &act, NULL, 8) for every signal that returns control to the Sentry
        mov edi, 31                     # SIGSYS: a syscall of the app
        call set_handler
        mov edi, 11                     # SIGSEGV
        call set_handler
        mov edi, 7                      # SIGBUS
        call set_handler
        mov edi, 8                      # SIGFPE
        call set_handler
        mov edi, 4                      # SIGILL
        call set_handler
        mov edi, 5                      # SIGTRAP
        call set_handler
        mov edi, 17                     # SIGCHLD: the Sentry's interrupt kick
        call set_handler
        # prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        mov eax, 157
        mov edi, 38
        mov esi, 1
        xor edx, edx
        xor r10, r10
        xor r8, r8
        syscall
        # seccomp(SECCOMP_SET_MODE_FILTER, 0, &f1)
        mov eax, 317
        mov edi, 1
        xor esi, esi
        lea rdx, [rip + page + 0x7c0]
        syscall
        test rax, rax
        jnz fail
loop:
        mov eax, 34                     # pause()
        syscall
pause_return:
        jmp loop
fail:
        mov eax, 231
        mov edi, 1
        syscall

set_handler:
        mov eax, 13
        lea rsi, [rip + page + 0x7a0]
        xor edx, edx
        mov r10d, 8
        syscall
        test rax, rax
        jnz fail
        ret

inject:                                 # injected host syscalls
        syscall
        int3
inject_clone:                           # a new injector: the child falls into the pause loop
        syscall
        test rax, rax
        jz loop
        int3
app_clone:                              # a new app thread: the child starts at app_init
        syscall
        test rax, rax
        jz app_init
        int3

mapper_clone:                           # the stub's mapper: the child starts at mapper
        syscall
        test rax, rax
        jz mapper
        int3

mapper:                                 # no stack, state in registers only, every signal blocked
        mov eax, 14                     # rt_sigprocmask(SIG_SETMASK, &all ones, NULL, 8)
        mov edi, 2
        lea rsi, [rip + page + 0x7a0 + 24]
        xor edx, edx
        mov r10d, 8
        syscall
        test rax, rax
        jnz thread_fail
        lea r15, [rip + page + MAPPER_PAGE]
        xor r13d, r13d                  # the last sequence number served
mapper_wait:
        mov eax, dword ptr [r15 + M_SEQ]
        cmp eax, r13d
        jne mapper_work
        mov eax, 202                    # futex(&seq, FUTEX_WAIT, r13d, NULL): a shared futex
        mov rdi, r15
        xor esi, esi
        mov edx, r13d
        xor r10, r10
        syscall
        jmp mapper_wait
mapper_work:
        mov r13d, eax
        mov r12d, dword ptr [r15 + M_COUNT]
        cmp r12d, M_MAX
        jbe mapper_counted
        mov r12d, M_MAX
mapper_counted:
        lea rbx, [r15 + M_CALLS]
        mov ebp, 1                      # the reply's length: 1 when every call succeeded
mapper_call:
        test r12d, r12d
        jz mapper_reply
        mov rax, [rbx]
        mov rdi, [rbx + 8]
        mov rsi, [rbx + 16]
        mov rdx, [rbx + 24]
        mov r10, [rbx + 32]
        mov r8, [rbx + 40]
        mov r9, [rbx + 48]
        syscall
        cmp rax, -4095
        jae mapper_failed
        add rbx, 64
        dec r12d
        jmp mapper_call
mapper_failed:
        mov ebp, eax                    # 1 + errno: the first failure, where the request stopped
        neg ebp
        inc ebp
mapper_reply:
        mov eax, 1                      # write(reply fd, page, length): the length is the answer
        mov edi, MAPPER_REPLY_FD
        mov rsi, r15
        mov edx, ebp
        syscall
        jmp mapper_wait

app_init:                               # rsp = top of this thread's region (clone's newsp)
        lea rbx, [rsp - REGION]
        sub rsp, 32
        lea rax, [rbx + SIGSTACK]
        mov [rsp], rax                  # ss_sp
        mov qword ptr [rsp + 8], 0      # ss_flags
        mov qword ptr [rsp + 16], REGION - SIGSTACK
        mov rdi, rsp
        xor esi, esi
        mov eax, 131                    # sigaltstack(&ss, NULL)
        syscall
        test rax, rax
        jnz thread_fail
        mov eax, 317                    # seccomp(SECCOMP_SET_MODE_FILTER, 0, &f2)
        mov edi, 1
        xor esi, esi
        lea rdx, [rip + page + 0x7d0]
        syscall
        test rax, rax
        jnz thread_fail
first_trap:
        int3                            # the handler reports the thread ready; the Sentry resumes it with app registers
        ud2
thread_fail:
        mov eax, 60
        mov edi, 1
        syscall

handler:                                # rdi = signo, rsi = siginfo*, rdx = ucontext*, rsp on the signal stack
        mov r8, rsp
        and r8, -REGION
        cmp edi, 17                     # the Sentry's kick, landing in the patched path?
        jne handler_trap
        mov rax, [rdx + UC_RIP]
        lea rcx, [rip + hand_off]
        sub rax, rcx
        cmp rax, patched_end - hand_off
        jae handler_trap
        mov dword ptr [r8 + H_KICKED], 1 # yes: the patched path reports it on its way back to the app
        cmp rax, patched_return - hand_off
        jb handler_drop                 # not past that check yet
        lea rax, [rip + patched_return] # past it: take the way back again from the check
        mov [rdx + UC_RIP], rax
        mov [rdx + UC_R8], r8
        lea rax, [r8 + P_STACK]
        mov [rdx + UC_RSP], rax
        jmp handler_drop
handler_trap:
        mov [r8 + H_UCONTEXT], rdx
        mov [r8 + H_SIGINFO], rsi
        rdfsbase rax
        mov [r8 + H_FSBASE], rax
        rdgsbase rax
        mov [r8 + H_GSBASE], rax
hand_off:                               # r8 = the region, its frame pointers set; shared with the patched path
        inc dword ptr [r8 + H_SEQ]
        mov eax, ST_TRAPPED
        xchg dword ptr [r8 + H_STATE], eax
        cmp dword ptr [r8 + H_SENTRY_WAITING], 0
        je wait
        mov eax, 202                    # futex(&state, FUTEX_WAKE, 1)
        mov rdi, r8
        mov esi, 1
        mov edx, 1
        syscall
wait:
        mov ecx, dword ptr [r8 + H_SPIN]
spin:
        mov eax, dword ptr [r8 + H_STATE]
        cmp eax, ST_RESUME
        je resume
        cmp eax, ST_EXIT
        je thread_exit
        test ecx, ecx
        jz sleep
        pause
        dec ecx
        jmp spin
sleep:
        mov eax, 1
        xchg dword ptr [r8 + H_STUB_WAITING], eax
        cmp dword ptr [r8 + H_STATE], ST_TRAPPED
        jne woken
        mov eax, 202                    # futex(&state, FUTEX_WAIT, ST_TRAPPED, NULL)
        mov rdi, r8
        xor esi, esi
        mov edx, ST_TRAPPED
        xor r10, r10
        syscall
woken:
        mov dword ptr [r8 + H_STUB_WAITING], 0
        jmp wait
resume:
        mov dword ptr [r8 + H_STATE], ST_RUNNING
        mov rax, [r8 + H_FSBASE_OUT]
        wrfsbase rax
        mov rax, [r8 + H_GSBASE_OUT]
        wrgsbase rax
        ret                             # to restorer, or to patched_return

# A patched syscall site (`jmp *entry`) lands here through its trap-table entry: r11 = the entry. rax, rcx and
# r11 are free (the syscall clobbers rcx and r11; its number is in the entry). The app's %gs base is this
# thread's region while patching is on; until the flags are saved only flag-neutral instructions run.
patched:
        rdgsbase rax
patched_self:                           # a %gs the app set may fault here: the Sentry resumes at the fallback
        mov rcx, [rax + H_SELF]
        not rcx
        lea rcx, [rax + rcx + 1]        # gs - self: zero in this thread's region
        jrcxz patched_ok
        lea rcx, [r11 + E_FALLBACK]     # not a region of ours: make the call the trapped way
        jmp rcx
patched_ok:
        mov [rax + P_GREGS + 15 * 8], rsp
        lea rsp, [rax + P_STACK]
        pushfq
        pop qword ptr [rax + P_GREGS + 17 * 8]
        push 0                          # clean flags for stub code (NT set would make iretq fault)
        popfq
        mov [rax + P_GREGS + 0 * 8], r8
        mov [rax + P_GREGS + 1 * 8], r9
        mov [rax + P_GREGS + 2 * 8], r10
        mov [rax + P_GREGS + 4 * 8], r12
        mov [rax + P_GREGS + 5 * 8], r13
        mov [rax + P_GREGS + 6 * 8], r14
        mov [rax + P_GREGS + 7 * 8], r15
        mov [rax + P_GREGS + 8 * 8], rdi
        mov [rax + P_GREGS + 9 * 8], rsi
        mov [rax + P_GREGS + 10 * 8], rbp
        mov [rax + P_GREGS + 11 * 8], rbx
        mov [rax + P_GREGS + 12 * 8], rdx
        mov r8, rax
        mov rax, [r8 + P_GREGS + 17 * 8]
        mov [r8 + P_GREGS + 3 * 8], rax # r11 = the flags, as syscall leaves it
        mov rcx, [r11 + E_RET]
        mov [r8 + P_GREGS + 14 * 8], rcx # rcx = the return address, as syscall leaves it
        mov [r8 + P_GREGS + 16 * 8], rcx # rip
        mov eax, dword ptr [r11 + E_NR]
        mov [r8 + P_GREGS + 13 * 8], rax # rax = the number
        mov rdx, 0x002b000000000033     # cs 0x33, ss 0x2b
        mov [r8 + P_GREGS + 18 * 8], rdx
        lea rdx, [r8 + P_FPSTATE]
        fxsave64 [rdx]
        mov [r8 + P_GREGS + 23 * 8], rdx # mcontext's fpstate pointer
        mov dword ptr [r8 + H_FP_DIRTY], 0
        mov qword ptr [r8 + P_SIGINFO], 31 # SIGSYS, si_errno 0
        mov qword ptr [r8 + P_SIGINFO + 8], 1 # SYS_SECCOMP
        mov [r8 + P_SIGINFO + 16], rcx  # si_call_addr
        mov dword ptr [r8 + P_SIGINFO + 24], eax # si_syscall
        mov dword ptr [r8 + P_SIGINFO + 28], 0xC000003E # si_arch: AUDIT_ARCH_X86_64
        lea rax, [r8 + P_UC]
        mov [r8 + H_UCONTEXT], rax
        lea rax, [r8 + P_SIGINFO]
        mov [r8 + H_SIGINFO], rax
        rdfsbase rax
        mov [r8 + H_FSBASE], rax
        mov [r8 + H_GSBASE], r8
        lea rax, [rip + patched_return]
        push rax
        jmp hand_off
patched_return:                         # r8 = the region; the frame holds what the Sentry wants the app to have
        cmp dword ptr [r8 + H_KICKED], 0
        jne patched_kicked
        cmp dword ptr [r8 + H_FP_DIRTY], 0
        je patched_fp_kept
        fxrstor64 [r8 + P_FPSTATE]
patched_fp_kept:
        push 0x2b                       # iretq's frame: ss, rsp, rflags, cs, rip
        push qword ptr [r8 + P_GREGS + 15 * 8]
        push qword ptr [r8 + P_GREGS + 17 * 8]
        push 0x33
        push qword ptr [r8 + P_GREGS + 16 * 8]
        mov r9, [r8 + P_GREGS + 1 * 8]
        mov r10, [r8 + P_GREGS + 2 * 8]
        mov r11, [r8 + P_GREGS + 3 * 8]
        mov r12, [r8 + P_GREGS + 4 * 8]
        mov r13, [r8 + P_GREGS + 5 * 8]
        mov r14, [r8 + P_GREGS + 6 * 8]
        mov r15, [r8 + P_GREGS + 7 * 8]
        mov rdi, [r8 + P_GREGS + 8 * 8]
        mov rsi, [r8 + P_GREGS + 9 * 8]
        mov rbp, [r8 + P_GREGS + 10 * 8]
        mov rbx, [r8 + P_GREGS + 11 * 8]
        mov rdx, [r8 + P_GREGS + 12 * 8]
        mov rax, [r8 + P_GREGS + 13 * 8]
        mov rcx, [r8 + P_GREGS + 14 * 8]
        mov r8, [r8 + P_GREGS + 0 * 8]
        iretq                           # rip, rsp and the flags at once
patched_kicked:                         # report the kick as the handler would, with the frame's registers
        mov dword ptr [r8 + H_KICKED], 0
        mov qword ptr [r8 + P_SIGINFO], 17 # SIGCHLD
        mov eax, -6                     # SI_TKILL
        mov [r8 + P_SIGINFO + 8], rax
        mov eax, dword ptr [rip + page + 0x7f0]
        mov [r8 + P_SIGINFO + 16], rax  # si_pid: the Sentry
        lea rax, [r8 + P_SIGINFO]
        mov [r8 + H_SIGINFO], rax
        lea rax, [r8 + P_UC]
        mov [r8 + H_UCONTEXT], rax
        mov rax, [r8 + H_FSBASE_OUT]
        mov [r8 + H_FSBASE], rax
        mov rax, [r8 + H_GSBASE_OUT]
        mov [r8 + H_GSBASE], rax
        lea rax, [rip + patched_return]
        push rax
        jmp hand_off
patched_end:
handler_drop:
        ret                             # to restorer
thread_exit:
        mov eax, 60
        xor edi, edi
        syscall
restorer:
        mov eax, 15                     # rt_sigreturn
        syscall
end:
