using System;
using System.IO;

namespace Moat.Conformance.Harness;

/// <summary>
/// A scratch directory on the host that the sandbox sees too. Never under /tmp (nor under the checkout,
/// which may itself lie in /tmp): inside the sandbox /tmp is a fresh tmpfs, so host files there are
/// invisible, as they should be.
/// </summary>
public static class HostScratch
{
    private static readonly Lazy<string> s_root = new(() =>
    {
        string parent = Directory.Exists("/var/tmp") ? "/var/tmp" : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string dir = Path.Combine(parent, "moat-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        };
        return dir;
    });

    public static string Root => s_root.Value;

    /// <summary>A new, empty directory under the scratch root.</summary>
    public static string NewDirectory(string prefix)
    {
        string dir = Path.Combine(Root, prefix + "-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
