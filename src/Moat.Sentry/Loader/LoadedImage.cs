namespace Moat.Sentry.Loader;

/// <summary>Where the loader put a program, as execve's caller needs to know it.</summary>
internal readonly record struct LoadedImage(
    ulong Entry,
    ulong StackPointer,
    ulong ArgStart,
    ulong ArgEnd,
    ulong EnvStart,
    ulong EnvEnd,
    ulong ImageEnd);
