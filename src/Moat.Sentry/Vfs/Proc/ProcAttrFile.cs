using Moat.Abi;
using Moat.Sentry.Kernel;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>
/// A file of /proc/PID/attr (current, exec, fscreate, keycreate, prev, sockcreate) in a kernel without a Linux
/// security module: reading asks the (absent) module and gets EINVAL; writing is for a thread's own attributes
/// only (EPERM for another's), then EINVAL too, as proc_pid_attr_read and proc_pid_attr_write answer.
/// </summary>
internal sealed class ProcAttrFile : FileDescription
{
    private readonly Task _task;
    private readonly Stat _stat;

    public ProcAttrFile(Task task, string path, Stat stat, int flags)
    {
        _task = task;
        _stat = stat;
        Path = path;
        StatusFlags = (flags & (OpenFlags.O_ACCMODE | OpenFlags.O_PATH)) | OpenFlags.O_LARGEFILE;
    }

    public override bool Positional => true;

    public override long Read(Task t, in IoSequence dst, long offset) => -Errno.EINVAL.Value;

    public override long Write(Task t, in IoSequence src, long offset, WriteFlags flags = WriteFlags.None)
    {
        if (t != _task)
        {
            return -Errno.EPERM.Value;
        }

        if (offset > 0)
        {
            return -Errno.EINVAL.Value;
        }

        // The buffer is copied in (at most a page) before the module is asked.
        byte[] b = new byte[System.Math.Min(src.Total, 4096UL)];
        return src.CopyIn(t.MM, 0, b) < 0 ? -Errno.EFAULT.Value : -Errno.EINVAL.Value;
    }

    public override long Seek(long offset, int whence) => whence is 0 or 1 or 2 && offset >= 0 ? offset : -Errno.EINVAL.Value;

    public override long Stat(out Stat st)
    {
        st = _stat;
        return 0;
    }
}
