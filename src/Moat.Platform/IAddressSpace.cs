using System;

namespace Moat.Platform;

/// <summary>
/// A host address space that runs application code. It only ever maps ranges of the Sentry's MemoryFile:
/// the host never maps an application file or anonymous memory of its own.
/// </summary>
public interface IAddressSpace : IDisposable
{
    /// <summary>
    /// Maps MemoryFile bytes [fileOffset, fileOffset+length) at <paramref name="addr"/> with protection
    /// <paramref name="prot"/> (PROT_* bits), replacing whatever was mapped there.
    /// </summary>
    /// <returns>0, or a negative errno.</returns>
    long MapFile(ulong addr, ulong length, long fileOffset, int prot);

    /// <summary>Removes every mapping in [addr, addr+length).</summary>
    /// <returns>0, or a negative errno: -EPERM when the calling thread runs no context of this address space.</returns>
    long Unmap(ulong addr, ulong length);

    /// <summary>
    /// Whether <see cref="Apply"/> hands many changes over in one round trip: only then does mapping ahead of
    /// the app's touches (a populate) cost less than the faults it saves.
    /// </summary>
    bool BatchesChanges => false;

    /// <summary>
    /// Makes several changes in order, stopping at the first that fails; a platform that can hand them over at
    /// once (systrap's mapper) makes them in one round trip.
    /// </summary>
    /// <returns>0, or the negative errno of the first change that failed.</returns>
    long Apply(ReadOnlySpan<MappingChange> changes)
    {
        foreach (MappingChange c in changes)
        {
            long r = c.Unmap ? Unmap(c.Addr, c.Length) : MapFile(c.Addr, c.Length, c.FileOffset, c.Prot);
            if (r < 0)
            {
                return r;
            }
        }

        return 0;
    }

    /// <summary>
    /// Prepares what one more context needs to run in this address space (on ptrace: a new stub thread).
    /// Preconditions: called on a thread whose context is attached to this address space.
    /// </summary>
    /// <returns>0 with a token for <see cref="IContext.Attach"/>, or a negative errno.</returns>
    long PrepareThread(out object? token);

    /// <summary>
    /// Registers <paramref name="lost"/>, called once on a platform thread if the host side of this address
    /// space dies by another hand than the Sentry's (a stub SIGKILLed from outside): its tasks must die too.
    /// </summary>
    void OnLost(Action lost)
    {
    }

    /// <summary>
    /// CPU time the application has used in this address space (all its threads, live and exited), in
    /// nanoseconds since the address space was made. Cheap (one host call); never decreases.
    /// </summary>
    long CpuRuntimeNs();

    /// <summary>That CPU time split into user and system time, in nanoseconds; the two add up to it and never decrease.</summary>
    (long User, long System) CpuTime();
}
