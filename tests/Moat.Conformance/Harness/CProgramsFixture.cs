using System;
using System.Collections.Generic;
using System.IO;

namespace Moat.Conformance.Harness;

/// <summary>
/// Compiles every C program under programs/ with gcc, once per test run, in three flavours: -static,
/// -static-pie and dynamic (through the host's ld.so and libc). Binaries keep their source's name (some programs check it).
/// </summary>
public sealed class CProgramsFixture : IDisposable
{
    public static readonly string[] Flavours = ["static", "static-pie", "dynamic"];

    public CProgramsFixture()
    {
        Root = HostScratch.NewDirectory("programs");
        string sources = Path.Combine(AppContext.BaseDirectory, "programs");
        foreach (string flavour in Flavours)
        {
            string dir = Path.Combine(Root, flavour);
            Directory.CreateDirectory(dir);
            foreach (string src in Directory.GetFiles(sources, "*.c"))
            {
                string name = Path.GetFileNameWithoutExtension(src);
                string[] link = flavour == "dynamic" ? [] : ["-" + flavour];
                RunResult r = ProcessRunner.Run("gcc", [.. link, "-O1", "-Wall", "-Werror", "-o", Path.Combine(dir, name), src], dir);
                if (r.ExitCode != 0)
                {
                    throw new InvalidOperationException($"gcc -{flavour} {name}.c failed:\n{r.Stderr}");
                }
            }
        }
    }

    /// <summary>Where the binaries are: Root/flavour/name.</summary>
    public string Root { get; }

    public string Dir(string flavour) => Path.Combine(Root, flavour);

    /// <summary>The cases of programs/cases.txt: (name, args).</summary>
    public static IEnumerable<(string Name, string[] Args)> Cases()
    {
        foreach (string line in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "programs", "cases.txt")))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] parts = line.Split('|', 2);
            yield return (parts[0], parts.Length > 1 && parts[1].Length > 0 ? parts[1].Split(' ') : []);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Tests that share the compiled programs (compiled once per run).</summary>
[CollectionDefinition(Name)]
public sealed class CProgramsCollection : ICollectionFixture<CProgramsFixture>
{
    public const string Name = "C programs";
}
