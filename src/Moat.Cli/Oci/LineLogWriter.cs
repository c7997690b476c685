using System;
using System.IO;
using System.Text;
using System.Threading;

namespace Moat.Cli.Oci;

/// <summary>
/// The Sentry's log inside an OCI sandbox: lines are kept in memory until the container is created (a
/// failed create reports them), then go to the runtime's --log as warnings, never to the container's stderr.
/// </summary>
internal sealed class LineLogWriter : TextWriter
{
    private readonly Lock _mu = new();
    private readonly StringBuilder _line = new();
    private readonly StringBuilder _kept = new();
    private OciLog? _sink;

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>The debug log (--debug-log), which gets every line as well.</summary>
    public TextWriter? Copy { get; init; }

    /// <summary>Everything logged before <see cref="SendTo"/>.</summary>
    public string Kept
    {
        get
        {
            lock (_mu)
            {
                return _kept.ToString().TrimEnd('\n');
            }
        }
    }

    /// <summary>From now on, each line goes to <paramref name="sink"/>.</summary>
    public void SendTo(OciLog sink)
    {
        lock (_mu)
        {
            _sink = sink;
        }
    }

    public override void Write(char value)
    {
        lock (_mu)
        {
            if (value != '\n')
            {
                _line.Append(value);
                return;
            }

            string line = _line.ToString();
            _line.Clear();
            Copy?.WriteLine(line);
            if (_sink != null)
            {
                _sink.Write("warning", line);
            }
            else
            {
                _kept.Append(line).Append('\n');
            }
        }
    }

    public override void Write(string? value)
    {
        foreach (char c in value ?? string.Empty)
        {
            Write(c);
        }
    }

    public override void WriteLine(string? value)
    {
        Write(value);
        Write('\n');
    }
}
