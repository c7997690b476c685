using System;
using System.Collections.Generic;

namespace Moat.Cli.Oci;

/// <summary>A runc-style command line: flags (--name VALUE, --name=VALUE, bare switches) and positional words.</summary>
internal sealed class OciFlags
{
    private readonly Dictionary<string, string> _values = [];
    private readonly HashSet<string> _switches = [];

    public List<string> Positional { get; } = [];

    /// <summary>Parses <paramref name="args"/>; <paramref name="valued"/> names the flags that take a value.</summary>
    public static OciFlags? Parse(ReadOnlySpan<string> args, string[] valued, out string error)
    {
        error = string.Empty;
        var f = new OciFlags();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                f.Positional.AddRange(args[(i + 1)..]);
                break;
            }

            if (!a.StartsWith('-') || a == "-" || f.Positional.Count > 0)
            {
                f.Positional.Add(a);
                continue;
            }

            string name = a.TrimStart('-');
            string? value = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }

            if (Array.IndexOf(valued, name) >= 0)
            {
                if (value == null)
                {
                    if (i + 1 >= args.Length)
                    {
                        error = $"flag needs an argument: --{name}";
                        return null;
                    }

                    value = args[++i];
                }

                f._values[name] = value;
            }
            else
            {
                f._switches.Add(name);
            }
        }

        return f;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public bool Has(string name) => _switches.Contains(name) || _values.ContainsKey(name);
}
