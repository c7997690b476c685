using System.Threading;

namespace Moat.Sentry.Vfs;

/// <summary>
/// The reference the mappings of a file description keep on it: one while any address space has a VMA that shows
/// it (<see cref="Mm.IHeldFile"/>), as Linux's vm_file pins the struct file.
/// </summary>
internal sealed class MappingHold(FileDescription file) : Mm.IHeldFile
{
    // Address spaces holding the description for a VMA of theirs.
    private int _holders;

    // A new holder maps through an fd (a reference of its own) or forks a holder: the description is alive.
    public void Hold()
    {
        if (Interlocked.Increment(ref _holders) == 1)
        {
            file.IncRef();
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            file.DecRef();
        }
    }
}
