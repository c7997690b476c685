using System;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;

namespace Moat.Cli.Oci;

/// <summary>
/// runc's --log: JSON lines <c>{"level":…,"msg":…,"time":…}</c> (or plain text) appended to a file; the
/// containerd shim shows the last error line to the user. Errors also go to stderr, as runc prints them.
/// </summary>
internal sealed class OciLog
{
    private readonly string? _path;
    private readonly bool _json;
    private readonly Lock _mu = new();

    public OciLog(string? path, bool json)
    {
        _path = path;
        _json = json;
    }

    public string? Path => _path;

    public bool Json => _json;

    /// <summary>Logs <paramref name="message"/> at error level and prints it on stderr; returns runc's failure status.</summary>
    public int Error(string message)
    {
        Write("error", message);
        Console.Error.WriteLine(message);
        return 1;
    }

    public void Write(string level, string message)
    {
        if (_path == null)
        {
            return;
        }

        string line;
        if (_json)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("level", level);
                w.WriteString("msg", message);
                w.WriteString("time", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndObject();
            }

            line = Encoding.UTF8.GetString(buffer.ToArray());
        }
        else
        {
            line = $"time=\"{DateTime.UtcNow:O}\" level={level} msg=\"{message}\"";
        }

        lock (_mu)
        {
            try
            {
                File.AppendAllText(_path, line + "\n");
            }
            catch (IOException)
            {
                // A log that cannot be written must not turn into a second failure.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
