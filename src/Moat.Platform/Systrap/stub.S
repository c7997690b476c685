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
        lea rax, [rbx + HDR]
        mov [rsp], rax                  # ss_sp
        mov qword ptr [rsp + 8], 0      # ss_flags
        mov qword ptr [rsp + 16], REGION - HDR
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
        mov [r8 + H_UCONTEXT], rdx
        mov [r8 + H_SIGINFO], rsi
        rdfsbase rax
        mov [r8 + H_FSBASE], rax
        rdgsbase rax
        mov [r8 + H_GSBASE], rax
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
        ret                             # to restorer
thread_exit:
        mov eax, 60
        xor edi, edi
        syscall
restorer:
        mov eax, 15                     # rt_sigreturn
        syscall
end:
