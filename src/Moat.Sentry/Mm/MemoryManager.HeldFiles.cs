using System.Collections.Generic;

namespace Moat.Sentry.Mm;

/// <summary>
/// The files this address space's VMAs keep open (<see cref="IHeldFile"/>): held once each while a VMA shows
/// them, let go after the unmap that removed the last one, and all at exit or execve.
/// </summary>
internal sealed partial class MemoryManager
{
    // Files held for our VMAs; null while none ever was. Protected by _mu.
    private HashSet<IHeldFile>? _heldFiles;

    // An unmap removed a VMA that showed a held file: the next sweep looks. Protected by _mu.
    private bool _heldFilesStale;

    // Files to let go once _mu is released (MuScope.Dispose). Written under _mu.
    private List<IHeldFile>? _filesToRelease;

    private HashSet<IHeldFile>? _heldScratch;

    // Holds file for a VMA of ours that shows it (once per address space).
    // Preconditions: _mu is held.
    private void HoldFileLocked(IHeldFile file)
    {
        AssertLocked();
        if ((_heldFiles ??= []).Add(file))
        {
            file.Hold();
        }
    }

    // Notes that a VMA being removed may have been the last to show its file.
    // Preconditions: _mu is held.
    private void NoteRemovedVmaLocked(in Vma v)
    {
        if (v.Origin?.Holder != null)
        {
            _heldFilesStale = true;
        }
    }

    // Lets go (after _mu is released) of every held file no VMA shows any more. O(VMAs), only after an unmap
    // that removed a held file's VMA.
    // Preconditions: _mu is held.
    private void SweepHeldFilesLocked()
    {
        AssertLocked();
        if (!_heldFilesStale || _heldFiles == null)
        {
            return;
        }

        _heldFilesStale = false;
        HashSet<IHeldFile> shown = _heldScratch ??= [];
        shown.Clear();
        for (int i = 0; i < _vmas.Count; i++)
        {
            if (_vmas[i].Origin?.Holder is { } f)
            {
                shown.Add(f);
            }
        }

        if (shown.Count == _heldFiles.Count)
        {
            return;
        }

        foreach (IHeldFile f in _heldFiles)
        {
            if (!shown.Contains(f))
            {
                (_filesToRelease ??= []).Add(f);
            }
        }

        if (_filesToRelease != null)
        {
            _heldFiles.ExceptWith(_filesToRelease);
        }

        shown.Clear();
    }

    // Lets go of every held file (the address space is torn down), after _mu is released.
    // Preconditions: _mu is held.
    private void ReleaseAllHeldFilesLocked()
    {
        AssertLocked();
        if (_heldFiles is { Count: > 0 })
        {
            (_filesToRelease ??= []).AddRange(_heldFiles);
            _heldFiles.Clear();
        }
    }

    // The child of a fork shows the same files: it holds them too.
    // Preconditions: both address spaces' _mu are held.
    private void HoldFilesOfParentLocked(MemoryManager parent)
    {
        if (parent._heldFiles == null)
        {
            return;
        }

        foreach (IHeldFile f in parent._heldFiles)
        {
            HoldFileLocked(f);
        }
    }

    // Called by MuScope after _mu is released: lets go of files swept meanwhile.
    private void ReleaseSweptFiles()
    {
        List<IHeldFile> files;
        lock (_mu)
        {
            if (_filesToRelease is not { Count: > 0 } pending)
            {
                return;
            }

            files = pending;
            _filesToRelease = null;
        }

        foreach (IHeldFile f in files)
        {
            f.Release();
        }
    }
}
