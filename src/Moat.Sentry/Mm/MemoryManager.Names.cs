using Moat.Sentry.Vfs;

namespace Moat.Sentry.Mm;

/// <summary>The names of file mappings, kept true across renames and unlinks made through the sandbox.</summary>
internal sealed partial class MemoryManager
{
    /// <summary>
    /// The last walk of <see cref="LiveNames"/> that visited this address space (an address space shared by
    /// several tasks is visited once per walk). Protected by the kernel's TreeMu.
    /// </summary>
    public int NameStamp { get; set; }

    /// <summary>
    /// Lets <paramref name="visitor"/> rename the file mappings' names (/proc/PID/maps): a mapping of a renamed
    /// file shows the new name, of an unlinked one the old name and " (deleted)", as a VMA's file in Linux does.
    /// </summary>
    /// <remarks>Lock order: the kernel's TreeMu, then _mu. Only names change: no page is mapped or freed.</remarks>
    public void VisitNames<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, LiveNames.INameVisitor
    {
        lock (_mu)
        {
            for (int i = 0; i < _vmas.Count; i++)
            {
                Vma v = _vmas[i];
                if (v.Name is not { Length: > 1 } name || name[0] != '/' || name.EndsWith(" (deleted)", System.StringComparison.Ordinal))
                {
                    continue; // anonymous, [heap], [stack], or already deleted
                }

                string? renamed = visitor.Name(name, ofProcess: false, out bool unlinked);
                if (unlinked)
                {
                    renamed = name + " (deleted)";
                }

                if (renamed != null)
                {
                    _vmas.Replace(i, v with { Name = renamed });
                }
            }
        }
    }
}
