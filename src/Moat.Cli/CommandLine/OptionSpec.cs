namespace Moat.Cli.CommandLine;

/// <summary>
/// One option of a command: <c>--name</c> (and <c>-s</c> when it has a short letter), a switch or one that
/// takes a value (<c>--name VALUE</c> or <c>--name=VALUE</c>). Repeated value options keep every value.
/// </summary>
internal sealed record OptionSpec(string Name, string Help, string? Value = null, char Short = '\0', bool Hidden = false)
{
    /// <summary>Whether the option takes a value (its placeholder in the usage, e.g. DIR).</summary>
    public bool TakesValue => Value != null;

    /// <summary>A switch: <c>--name</c>, or <c>--name=true|false</c> as Go's flag package takes it.</summary>
    public static OptionSpec Switch(string name, string help, char shortName = '\0') => new(name, help, null, shortName);

    /// <summary>An option with a value: <c>--name VALUE</c> or <c>--name=VALUE</c>.</summary>
    public static OptionSpec With(string name, string value, string help, char shortName = '\0') => new(name, help, value, shortName);
}
