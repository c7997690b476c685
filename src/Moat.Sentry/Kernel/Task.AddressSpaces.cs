using System.Collections.Generic;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Kernel;

internal sealed partial class Task
{
    // Memories whose platform address space this task's host thread created (at its start or at execve). On
    // ptrace and systrap that thread traces the stub's main thread, and the stub dies with it (EXITKILL,
    // PDEATHSIG), so the thread must outlive each of them, even after its task has exited, while another
    // process (a CLONE_VM or vfork child, or the parent of one) still runs there. Owned by the task thread.
    private List<MemoryManager>? _createdMemories;

    /// <summary>
    /// Records that the calling (task) thread created <paramref name="mm"/>'s platform address space.
    /// Preconditions: called on the task's own host thread.
    /// </summary>
    public void NoteCreatedAddressSpace(MemoryManager mm)
    {
        _createdMemories ??= [];
        _createdMemories.RemoveAll(static m => m.Released);
        _createdMemories.Add(mm);
    }

    /// <summary>
    /// Waits, after the task has exited, until every memory whose address space this thread created is gone:
    /// a shared-memory process may still run in one (the last to leave frees it, from its own thread).
    /// Preconditions: called on the task's own host thread, after the task has released its memory.
    /// </summary>
    public void OutliveCreatedAddressSpaces()
    {
        if (_createdMemories == null)
        {
            return;
        }

        foreach (MemoryManager mm in _createdMemories)
        {
            mm.WaitUntilReleased();
        }

        _createdMemories = null;
    }
}
