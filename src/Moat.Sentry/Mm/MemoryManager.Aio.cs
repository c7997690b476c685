using System.Threading;

namespace Moat.Sentry.Mm;

/// <summary>
/// The AIO contexts of an address space (Linux's mm->ioctx_table): created by io_setup, never inherited by
/// fork's copy, and torn down with the address space (exit_aio at exit and execve).
/// </summary>
internal interface IAioContexts
{
    /// <summary>Kills every context as the address space goes away; their ring mappings go with it.</summary>
    void DestroyAll();
}

/// <summary>The slot for this address space's AIO contexts.</summary>
internal sealed partial class MemoryManager
{
    // Set once by the first io_setup; never copied by Fork.
    private IAioContexts? _aio;

    /// <summary>This memory's AIO contexts, or null when it never called io_setup.</summary>
    public IAioContexts? Aio => Volatile.Read(ref _aio);

    /// <summary>Installs <paramref name="fresh"/> unless another thread did first; returns the installed one.</summary>
    public IAioContexts GetOrAddAio(IAioContexts fresh) => Interlocked.CompareExchange(ref _aio, fresh, null) ?? fresh;

    // exit_aio: called when the last user leaves, before the memory is freed.
    private void DestroyAio() => Volatile.Read(ref _aio)?.DestroyAll();
}
