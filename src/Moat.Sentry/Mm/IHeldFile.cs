namespace Moat.Sentry.Mm;

/// <summary>
/// A file that mappings keep open, as a VMA's vm_file keeps its struct file: each address space with a VMA that
/// shows it holds it once (<see cref="Hold"/>), and lets go (<see cref="Release"/>) when its last such VMA goes.
/// </summary>
/// <remarks><see cref="Hold"/> is called with MemoryManager._mu held; <see cref="Release"/> never is (letting go
/// of the last reference closes a file, which takes locks that rank above _mu).</remarks>
internal interface IHeldFile
{
    void Hold();

    void Release();
}
