using System;

namespace Moat.Cli.CommandLine;

/// <summary>
/// The one command-line grammar of every moat command (GNU and runc style): <c>--name VALUE</c> and
/// <c>--name=VALUE</c>, <c>-s VALUE</c> and <c>-sVALUE</c> for short letters, switches as <c>--name</c>
/// (or <c>--name=true|false</c>), <c>--</c> ends the options, and so does the first argument. An option
/// that takes a value never takes <c>--</c> or a missing one. A hand-written parser, not
/// System.CommandLine: it adds nothing to the start-up of <c>moat do</c>.
/// </summary>
internal static class ArgParser
{
    /// <summary>Parses <paramref name="args"/> by <paramref name="spec"/>; null with a one-line <paramref name="error"/> when they are wrong.</summary>
    public static ParsedArgs? Parse(CommandSpec spec, ReadOnlySpan<string> args, out string error)
    {
        error = string.Empty;
        var parsed = new ParsedArgs();
        int i = 0;
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                i++;
                break;
            }

            if (a.Length < 2 || a[0] != '-')
            {
                break; // the first argument: the rest are arguments too
            }

            if (a is "-h" or "--help" || (spec.SingleDashLong && a == "-help"))
            {
                parsed.Help = true;
                return parsed;
            }

            string name;
            string? value = null;
            OptionSpec? o;
            if (a[1] == '-' || (spec.SingleDashLong && spec.Find(LongName(a[1..])) != null))
            {
                name = a[(a[1] == '-' ? 2 : 1)..];
                int eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    value = name[(eq + 1)..];
                    name = name[..eq];
                }

                o = spec.Find(name);
            }
            else
            {
                o = spec.FindShort(a[1]);
                name = o?.Name ?? a[1..];
                if (o != null && a.Length > 2)
                {
                    if (!o.TakesValue)
                    {
                        error = $"unknown option '{a}'";
                        return null;
                    }

                    value = a[2..];
                }
            }

            if (o == null)
            {
                error = $"unknown option '{a}'";
                return null;
            }

            if (!o.TakesValue)
            {
                if (value is null or "true" or "1")
                {
                    parsed.Add(o.Name, "true");
                }
                else if (value is "false" or "0")
                {
                    parsed.Remove(o.Name);
                }
                else
                {
                    error = $"option --{o.Name} takes no value (got '{value}')";
                    return null;
                }

                continue;
            }

            if (value == null)
            {
                if (i + 1 >= args.Length || args[i + 1] == "--")
                {
                    error = $"option --{o.Name} needs a value ({o.Value})";
                    return null;
                }

                value = args[++i];
            }

            parsed.Add(o.Name, value);
        }

        for (; i < args.Length; i++)
        {
            parsed.Arguments.Add(args[i]);
        }

        if (parsed.Arguments.Count < spec.MinArguments)
        {
            error = spec.Arguments.Length > 0 ? $"missing {spec.Arguments.Split(' ')[Math.Min(parsed.Arguments.Count, spec.Arguments.Split(' ').Length - 1)]}" : "missing an argument";
            return null;
        }

        if (spec.MaxArguments >= 0 && parsed.Arguments.Count > spec.MaxArguments)
        {
            string extra = parsed.Arguments[spec.MaxArguments];
            error = extra.StartsWith('-') ? $"option '{extra}' must come before the arguments" : $"unexpected argument '{extra}'";
            return null;
        }

        return parsed;
    }

    // "name" of "name=value".
    private static string LongName(string s)
    {
        int eq = s.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? s : s[..eq];
    }
}
