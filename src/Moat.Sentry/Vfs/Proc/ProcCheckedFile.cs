using System;
using System.Threading;
using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// A read-only /proc file whose content is made, and whose reader is checked, when it is read rather than when it
/// is opened (a seq_file whose show function checks: /proc/PID/syscall's lock_trace answers EPERM to a reader
/// that may not ptrace-attach to the task). A read at offset 0 makes the content again.
/// </summary>
internal sealed class ProcCheckedFile : FileDescription
{
    private readonly Func<Task, Errno> _check;
    private readonly Func<byte[]> _generate;
    private readonly Stat _stat;
    private readonly Lock _mu = new();
    private byte[]? _content;
    private long _offset;

    public ProcCheckedFile(string path, Stat stat, int flags, Func<Task, Errno> check, Func<byte[]> generate)
    {
        _check = check;
        _generate = generate;
        _stat = stat;
        Path = path;
        StatusFlags = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_PATH)) | OpenFlags.O_LARGEFILE;
    }

    public override bool Positional => true;

    public override long Read(Task t, in IoSequence dst, long offset)
    {
        Errno denied = _check(t);
        if (denied != Errno.None)
        {
            return -denied.Value;
        }

        byte[]? fresh = offset == 0 || (offset < 0 && Volatile.Read(ref _offset) == 0) ? _generate() : null;
        lock (_mu)
        {
            byte[] content = _content = fresh ?? _content ?? _generate();
            return ProcFile.CopyOutLocked(t, dst, content, offset, ref _offset);
        }
    }

    public override long Seek(long offset, int whence)
    {
        lock (_mu)
        {
            long next = whence switch
            {
                0 => offset,
                1 => _offset + offset,
                _ => -1,
            };
            if (next < 0)
            {
                return -Errno.EINVAL.Value;
            }

            _offset = next;
            return next;
        }
    }

    public override long Stat(out Stat st)
    {
        st = _stat;
        return 0;
    }
}
