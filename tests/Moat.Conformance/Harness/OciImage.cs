using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace Moat.Conformance.Harness;

/// <summary>
/// Builds a one-layer busybox image as an OCI image layout tarball (oci-layout, index.json, blobs by
/// sha256), for <c>ctr images import</c>: no registry involved.
/// </summary>
public static class OciImage
{
    /// <summary>The commands linked to busybox in the image's /bin.</summary>
    public static readonly string[] Applets = ["sh", "echo", "sleep", "cat", "ls", "id", "hostname", "true", "false", "ps"];

    /// <summary>Writes the image tarball to <paramref name="path"/>, named <paramref name="name"/> (e.g. docker.io/library/x:latest).</summary>
    public static void Write(string path, string name)
    {
        var blobs = new Dictionary<string, byte[]>();
        byte[] layer = Layer();
        string layerDigest = Add(blobs, layer);
        byte[] config = Encoding.UTF8.GetBytes(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"]}," +
            $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{layerDigest}\"]}}}}");
        string configDigest = Add(blobs, config);
        byte[] manifest = Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{configDigest}\",\"size\":{config.Length}}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"{layerDigest}\",\"size\":{layer.Length}}}]}}");
        string manifestDigest = Add(blobs, manifest);
        byte[] index = Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"digest\":\"{manifestDigest}\",\"size\":{manifest.Length}," +
            $"\"annotations\":{{\"io.containerd.image.name\":\"{name}\",\"org.opencontainers.image.ref.name\":\"latest\"}}}}]}}");

        using FileStream file = File.Create(path);
        using var tar = new TarWriter(file, TarEntryFormat.Pax);
        AddFile(tar, "oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}"));
        AddFile(tar, "index.json", index);
        foreach ((string digest, byte[] data) in blobs)
        {
            AddFile(tar, "blobs/sha256/" + digest["sha256:".Length..], data);
        }
    }

    private static byte[] Layer()
    {
        using var buffer = new MemoryStream();
        using (var tar = new TarWriter(buffer, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0x1ED });
            AddFile(tar, "bin/busybox", File.ReadAllBytes("/bin/busybox"), (UnixFileMode)0x1ED);
            foreach (string applet in Applets)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = (UnixFileMode)0x1FF });
            }
        }

        return buffer.ToArray();
    }

    private static string Add(Dictionary<string, byte[]> blobs, byte[] data)
    {
        string digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
        blobs[digest] = data;
        return digest;
    }

    private static void AddFile(TarWriter tar, string name, byte[] data, UnixFileMode mode = (UnixFileMode)0x1A4)
    {
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), Mode = mode });
    }
}
