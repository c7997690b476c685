using System;
using System.Globalization;

namespace Moat.Cli.Oci;

/// <summary>The value syntaxes runc's flags take from Go: durations (<c>--interval 5s</c>) and sizes (<c>--memory 64m</c>).</summary>
internal static class OciUnits
{
    /// <summary>
    /// Go's time.ParseDuration: a signed sequence of decimal numbers, each with a unit (ns, us, µs, ms, s, m, h),
    /// as "5s", "1.5s", "1m30s"; "0" alone is zero.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        string s = text;
        bool negative = false;
        if (s.Length > 0 && s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }

        if (s == "0")
        {
            return true;
        }

        if (s.Length == 0)
        {
            return false;
        }

        double ticks = 0;
        int i = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
            {
                return false;
            }

            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }

            double unit = s[unitStart..i] switch
            {
                "ns" => 0.01,
                "us" or "µs" or "μs" => 10,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                _ => -1,
            };
            if (unit < 0)
            {
                return false;
            }

            ticks += number * unit;
        }

        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)(negative ? -ticks : ticks));
        return true;
    }

    /// <summary>
    /// docker's units.RAMInBytes, which runc update reads its sizes with: a decimal number, an optional space,
    /// an optional k, m, g, t or p (any case; binary multiples), then optionally "i" and "b" ("64m", "1.5GiB", "100").
    /// </summary>
    public static bool TryParseRamBytes(string text, out long bytes)
    {
        bytes = 0;
        int i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        if (i == 0 || !double.TryParse(text.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            return false;
        }

        string rest = text[i..];
        if (rest.StartsWith(' '))
        {
            rest = rest[1..];
        }

        double multiplier = 1;
        if (rest.Length > 0 && "kmgtp".IndexOf(char.ToLowerInvariant(rest[0])) is int power and >= 0)
        {
            multiplier = Math.Pow(1024, power + 1);
            rest = rest[1..];
            if (rest.Length > 0 && rest[0] is 'i' or 'I')
            {
                rest = rest[1..];
            }
        }

        if (rest.Length > 0 && rest[0] is 'b' or 'B')
        {
            rest = rest[1..];
        }

        double value = number * multiplier;
        if (rest.Length != 0 || value > long.MaxValue)
        {
            return false;
        }

        bytes = (long)value;
        return true;
    }
}
