using System;

namespace Moat.Platform;

/// <summary>
/// Runs application code. The Sentry never executes app instructions itself: it asks the platform to run a
/// context in an address space until the app makes a system call, faults, or is interrupted.
/// </summary>
public interface IPlatform : IDisposable
{
    /// <summary>The platform's name as given to <c>--platform</c>.</summary>
    string Name { get; }

    /// <summary>Lowest address an application mapping may use.</summary>
    ulong MinUserAddress { get; }

    /// <summary>One past the highest address an application mapping may use; stub code lives above it.</summary>
    ulong MaxUserAddress { get; }

    /// <summary>
    /// Where a vDSO image sits in every address space this platform creates (the app finds it through
    /// AT_SYSINFO_EHDR), or 0 when there is none and time calls are syscalls.
    /// </summary>
    ulong VdsoAddress => 0;

    /// <summary>Syscall-site patching, when this platform offers it and it is switched on; otherwise null.</summary>
    ISyscallPatching? SyscallPatching => null;

    /// <summary>
    /// The host's mappings every address space of this platform shows besides the app's own, in address order
    /// ([vvar], [vvar_vclock], [vdso], [vsyscall]): /proc/PID/maps lists them, as Linux does.
    /// </summary>
    System.Collections.Generic.IReadOnlyList<SpecialMapping> SpecialMappings => [];

    /// <summary>
    /// Creates a new, empty address space.
    /// Preconditions: on the ptrace platform, called from the thread that will run contexts in it.
    /// </summary>
    /// <returns>The address space, or null with <paramref name="error"/> set to a negative errno.</returns>
    IAddressSpace? NewAddressSpace(out long error);

    /// <summary>Creates an execution context for one task.</summary>
    IContext NewContext();
}
