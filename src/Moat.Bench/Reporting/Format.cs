using System;
using System.Globalization;

namespace Moat.Bench.Reporting;

/// <summary>Numbers as the reports print them: three significant digits, invariant culture.</summary>
public static class Format
{
    public static string Value(double v)
    {
        if (double.IsNaN(v))
        {
            return "-";
        }

        double a = Math.Abs(v);
        string f = a >= 100 ? "F0" : a >= 10 ? "F1" : "F2";
        return v.ToString(f, CultureInfo.InvariantCulture);
    }

    public static string Ratio(double r) =>
        double.IsNaN(r) ? "-" : r.ToString(r >= 10 ? "F0" : "F1", CultureInfo.InvariantCulture) + "×";

    public static string Percent(double spread) =>
        double.IsNaN(spread) ? "-" : "±" + (spread * 50).ToString("F0", CultureInfo.InvariantCulture) + "%";

    public static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
