using System;
using System.Collections.Generic;
using System.Threading;
using Moat.Abi;

namespace Moat.Sentry.Vfs;

/// <summary>
/// A process's file descriptor table. Each slot holds a reference on its FileDescription and the
/// FD_CLOEXEC flag. Lock order: _mu is a leaf (descriptions are released outside it).
/// </summary>
internal sealed class FdTable
{
    private readonly Lock _mu = new();

    // Protected by _mu.
    private FileDescription?[] _files = new FileDescription?[16];
    private bool[] _cloexec = new bool[16];
    private int _users = 1;

    /// <summary>Whether more than one task uses the table.</summary>
    public bool Shared
    {
        get
        {
            lock (_mu)
            {
                return _users > 1;
            }
        }
    }

    /// <summary>Adds a task that shares this table (CLONE_FILES).</summary>
    public void IncUsers()
    {
        lock (_mu)
        {
            _users++;
        }
    }

    /// <summary>Drops a task that used this table; the last one closes every fd.</summary>
    public void DecUsers()
    {
        FileDescription?[] files;
        lock (_mu)
        {
            if (--_users > 0)
            {
                return;
            }

            files = _files;
            _files = [];
            _cloexec = [];
        }

        foreach (FileDescription? f in files)
        {
            if (f != null)
            {
                Closed(f);
            }
        }
    }

    /// <summary>A copy of the table for fork(2): the same descriptions, each with a new reference.</summary>
    public FdTable Fork()
    {
        var child = new FdTable();
        lock (_mu)
        {
            child._files = new FileDescription?[_files.Length];
            child._cloexec = (bool[])_cloexec.Clone();
            for (int i = 0; i < _files.Length; i++)
            {
                if (_files[i] is FileDescription f)
                {
                    f.IncRef();
                    child._files[i] = f;
                }
            }
        }

        return child;
    }

    /// <summary>The last walk of <see cref="LiveNames"/> that visited this table (tables are shared by threads).</summary>
    public int NameStamp { get; set; }

    /// <summary>Lets a <see cref="LiveNames"/> walk rename or mark deleted the names of this table's descriptions.</summary>
    public void VisitFiles<TVisitor>(ref TVisitor visitor)
        where TVisitor : struct, LiveNames.INameVisitor
    {
        lock (_mu)
        {
            foreach (FileDescription? f in _files)
            {
                if (f?.Path is { } path && !f.Unlinked)
                {
                    string? renamed = visitor.Name(path, ofProcess: false, out bool unlinked);
                    f.Unlinked = unlinked;
                    f.Path = renamed ?? path;
                }
            }
        }
    }

    /// <summary>The open fds, in order, for /proc/pid/fd.</summary>
    public List<int> OpenFds()
    {
        lock (_mu)
        {
            var list = new List<int>();
            for (int i = 0; i < _files.Length; i++)
            {
                if (_files[i] != null)
                {
                    list.Add(i);
                }
            }

            return list;
        }
    }

    /// <summary>Implements close_range(2) on this table: closes, or marks close-on-exec, fds first..last.</summary>
    public void CloseRange(uint first, uint last, bool cloexecOnly)
    {
        var closing = new System.Collections.Generic.List<FileDescription>();
        lock (_mu)
        {
            for (long i = first; i <= last && i < _files.Length; i++)
            {
                if (_files[i] is FileDescription f)
                {
                    if (cloexecOnly)
                    {
                        _cloexec[i] = true;
                    }
                    else
                    {
                        closing.Add(f);
                        _files[i] = null;
                        _cloexec[i] = false;
                    }
                }
            }
        }

        foreach (FileDescription f in closing)
        {
            Closed(f);
        }
    }

    /// <summary>Closes every fd marked FD_CLOEXEC (execve).</summary>
    public void CloseOnExec()
    {
        var closing = new System.Collections.Generic.List<FileDescription>();
        lock (_mu)
        {
            for (int i = 0; i < _files.Length; i++)
            {
                if (_cloexec[i] && _files[i] is FileDescription f)
                {
                    closing.Add(f);
                    _files[i] = null;
                    _cloexec[i] = false;
                }
            }
        }

        foreach (FileDescription f in closing)
        {
            Closed(f);
        }
    }

    /// <summary>
    /// Returns the description at <paramref name="fd"/> with a new reference the caller must DecRef, or null.
    /// </summary>
    public FileDescription? Get(int fd)
    {
        lock (_mu)
        {
            if ((uint)fd >= (uint)_files.Length)
            {
                return null;
            }

            FileDescription? f = _files[fd];
            f?.IncRef();
            return f;
        }
    }

    /// <summary>Installs <paramref name="file"/> (taking a new reference) at exactly <paramref name="fd"/>, replacing any file there.</summary>
    public void Set(int fd, FileDescription file, bool cloexec)
    {
        FileDescription? old;
        file.IncRef();
        lock (_mu)
        {
            Grow(fd + 1);
            old = _files[fd];
            _files[fd] = file;
            _cloexec[fd] = cloexec;
        }

        if (old != null)
        {
            Closed(old);
        }
    }

    /// <summary>Installs <paramref name="file"/> at the lowest free fd ≥ <paramref name="minFd"/> below <paramref name="limit"/>.</summary>
    /// <returns>The fd, or -EMFILE.</returns>
    public int Add(FileDescription file, bool cloexec, int minFd, int limit)
    {
        lock (_mu)
        {
            for (int fd = Math.Max(0, minFd); fd < limit; fd++)
            {
                if (fd >= _files.Length || _files[fd] == null)
                {
                    Grow(fd + 1);
                    file.IncRef();
                    _files[fd] = file;
                    _cloexec[fd] = cloexec;
                    return fd;
                }
            }
        }

        return -Errno.EMFILE.Value;
    }

    /// <summary>Implements close(2) on the table. Returns 0 or -EBADF.</summary>
    public long Remove(int fd)
    {
        FileDescription? f;
        lock (_mu)
        {
            if ((uint)fd >= (uint)_files.Length || _files[fd] == null)
            {
                return -Errno.EBADF.Value;
            }

            f = _files[fd];
            _files[fd] = null;
            _cloexec[fd] = false;
        }

        Closed(f!);
        return 0;
    }

    /// <summary>Gets (0/1) or sets FD_CLOEXEC. Returns -EBADF for a closed fd.</summary>
    public long CloseOnExec(int fd, bool? set)
    {
        lock (_mu)
        {
            if ((uint)fd >= (uint)_files.Length || _files[fd] == null)
            {
                return -Errno.EBADF.Value;
            }

            if (set is bool v)
            {
                _cloexec[fd] = v;
            }

            return _cloexec[fd] ? 1 : 0;
        }
    }

    // An fd of f was closed: this table's POSIX locks on the file go (as Linux's locks_remove_posix).
    private void Closed(FileDescription f)
    {
        FileLocks.OnClose(this, f);
        if (Inotify.Dnotify.Any)
        {
            Inotify.Dnotify.Flush(f, this);
        }

        f.Flush(Moat.Sentry.Kernel.Task.Current);
        f.DecRef();
    }

    // Preconditions: _mu is held.
    private void Grow(int size)
    {
        if (size <= _files.Length)
        {
            return;
        }

        int n = Math.Max(size, _files.Length * 2);
        Array.Resize(ref _files, n);
        Array.Resize(ref _cloexec, n);
    }
}
