using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using Moat.Abi;
using Moat.Host;

namespace Moat.Cli.Diagnostics;

/// <summary>
/// Moat's debug log (<c>--debug-log PATH</c>, <c>--debug</c>): where the Sentry, the gofer and the outer
/// process write their notices (an unimplemented syscall, a task killed by a fault, --strace), never the
/// program's own stderr. Each line is one append (O_APPEND) stamped with the time, the command and the
/// host pid, so processes sharing one file never tear each other's lines. Without a path, --debug writes
/// to stderr and the notices are otherwise dropped.
/// </summary>
internal sealed class DebugLog : TextWriter
{
    private readonly Lock _mu = new();
    private readonly StringBuilder _line = new();
    private readonly int _fd;
    private readonly string _prefix;

    private DebugLog(int fd, string? path, string command, bool verbose)
    {
        _fd = fd;
        FilePath = path;
        Verbose = verbose;
        _prefix = " " + command + "[" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "] ";
    }

    /// <summary>A log that drops everything: no --debug-log and no --debug.</summary>
    public static DebugLog None { get; } = new(-1, null, string.Empty, false);

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>The file this log appends to (null: stderr, or nowhere).</summary>
    public string? FilePath { get; }

    /// <summary>--debug: lines of <see cref="Debug"/> are written too, not only notices.</summary>
    public bool Verbose { get; }

    /// <summary>Whether anything is written at all.</summary>
    public bool Enabled => _fd >= 0;

    /// <summary>
    /// Opens the log of <paramref name="command"/> (do, sentry, gofer, create, ...) of sandbox or container
    /// <paramref name="id"/>: <paramref name="pattern"/> with %ID% and %COMMAND% replaced; a directory (an
    /// existing one, or a path ending in /) gets the file ID.COMMAND.log in it. Null with a reason in
    /// Linux's words when it cannot be opened.
    /// </summary>
    public static DebugLog? Open(string? pattern, bool verbose, string id, string command, out string? error)
    {
        error = null;
        if (pattern == null)
        {
            return verbose ? new DebugLog(2, null, command, true) : None;
        }

        string path = Resolve(pattern, id, command);
        if (pattern.EndsWith('/'))
        {
            try
            {
                Directory.CreateDirectory(pattern);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The open below says why, in Linux's words.
            }
        }

        long fd = HostAppend.Open(path);
        if (fd < 0)
        {
            error = $"open {path}: {LinuxError.Text(Errno.FromValue((int)-fd))}";
            return null;
        }

        return new DebugLog((int)fd, path, command, verbose);
    }

    /// <summary>
    /// Makes fd <paramref name="target"/> another descriptor of this log's file (dup3), so what is written there
    /// raw (the runtime's last words) lands in the log. False when the log has no file or the dup failed.
    /// </summary>
    public bool DupOnto(int target) =>
        FilePath != null && _fd >= 0 && HostProcess.Syscall(Sysno.dup3, _fd, target, 0) == target;

    /// <summary>The file <paramref name="pattern"/> names for this id and command.</summary>
    public static string Resolve(string pattern, string id, string command)
    {
        string path = pattern.Replace("%ID%", id, StringComparison.Ordinal).Replace("%COMMAND%", command, StringComparison.Ordinal);
        if (path.EndsWith('/') || Directory.Exists(path))
        {
            path = Path.Combine(path, id + "." + command + ".log");
        }

        return Path.GetFullPath(path);
    }

    /// <summary>Logs <paramref name="message"/> when --debug was given.</summary>
    public void Debug(string message)
    {
        if (Verbose)
        {
            WriteLine(message);
        }
    }

    public override void Write(char value)
    {
        if (_fd < 0)
        {
            return;
        }

        lock (_mu)
        {
            if (value != '\n')
            {
                _line.Append(value);
                return;
            }

            Emit(_line.ToString());
            _line.Clear();
        }
    }

    public override void Write(string? value)
    {
        if (_fd < 0 || value == null)
        {
            return;
        }

        lock (_mu)
        {
            int start = 0;
            for (int nl = value.IndexOf('\n', StringComparison.Ordinal); nl >= 0; nl = value.IndexOf('\n', start))
            {
                _line.Append(value, start, nl - start);
                Emit(_line.ToString());
                _line.Clear();
                start = nl + 1;
            }

            _line.Append(value, start, value.Length - start);
        }
    }

    public override void WriteLine(string? value)
    {
        if (_fd < 0)
        {
            return;
        }

        lock (_mu)
        {
            if (_line.Length == 0 && value != null && !value.Contains('\n', StringComparison.Ordinal))
            {
                Emit(value);
                return;
            }
        }

        Write(value);
        Write('\n');
    }

    // One line, one write: appends of other processes land between lines, never inside one.
    private void Emit(string text)
    {
        string line = _fd == 2 ? text + "\n" : DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture) + _prefix + text + "\n";
        HostAppend.Write(_fd, Encoding.UTF8.GetBytes(line));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _fd > 2)
        {
            HostFile.Close(_fd);
        }

        base.Dispose(disposing);
    }
}
