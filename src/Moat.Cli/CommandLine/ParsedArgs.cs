using System;
using System.Collections.Generic;

namespace Moat.Cli.CommandLine;

/// <summary>A command line as <see cref="ArgParser"/> read it: option values by long name, and the arguments.</summary>
internal sealed class ParsedArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<string> Arguments { get; } = [];

    /// <summary>-h or --help was given: print the usage and do nothing else.</summary>
    public bool Help { get; set; }

    public void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out List<string>? list))
        {
            _values[name] = list = [];
        }

        list.Add(value);
    }

    /// <summary>Removes a switch set earlier (<c>--name=false</c>).</summary>
    public void Remove(string name) => _values.Remove(name);

    /// <summary>The last value given for <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => _values.TryGetValue(name, out List<string>? list) ? list[^1] : null;

    /// <summary>Every value given for <paramref name="name"/>, in order.</summary>
    public IReadOnlyList<string> GetAll(string name) => _values.TryGetValue(name, out List<string>? list) ? list : [];

    /// <summary>Whether the option was given at all (a switch, or one with a value).</summary>
    public bool Has(string name) => _values.ContainsKey(name);
}
