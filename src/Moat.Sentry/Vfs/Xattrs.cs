using System;
using System.Collections.Generic;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Vfs.Tmpfs;

namespace Moat.Sentry.Vfs;

/// <summary>
/// Extended attributes, as Linux's fs/xattr.c checks them and tmpfs keeps them: the user., trusted. and
/// security. namespaces on the Sentry's tmpfs files (so also on the overlay's upper layer: a host file is
/// copied up before its attributes change). user. only on regular files and directories, and a sticky
/// directory's only by its owner; trusted. only with CAP_SYS_ADMIN (hidden from listxattr otherwise);
/// other names, and files elsewhere (volumes, /proc, pipes, sockets), answer EOPNOTSUPP. A host file not
/// copied up shows none. All state is under the tmpfs's Mu.
/// </summary>
internal static class Xattrs
{
    /// <summary>XATTR_NAME_MAX.</summary>
    public const int NameMax = 255;

    /// <summary>XATTR_SIZE_MAX: the largest value, and the most getxattr copies out.</summary>
    public const int SizeMax = 65536;

    /// <summary>XATTR_LIST_MAX: the most listxattr copies out.</summary>
    public const int ListMax = 65536;

    public const int XATTR_CREATE = 1;
    public const int XATTR_REPLACE = 2;

    private const string UserPrefix = "user.";
    private const string TrustedPrefix = "trusted.";
    private const string SecurityPrefix = "security.";

    // The checks every call on a tmpfs node makes, in Linux's order: permission for the name's namespace, then
    // whether this file system keeps such names. Preconditions: the node's file system lock is held.
    private static Errno MayUse(Credentials c, TmpfsNode node, string name, bool write)
    {
        Errno e = MayAccess(c, node.ToStat(), name, write);
        return e != Errno.None ? e : Supported(name) ? Errno.None : Errno.EOPNOTSUPP;
    }

    /// <summary>Implements setxattr on an open file (the caller copied a host file up). Returns 0 or -errno.</summary>
    public static long Set(Task t, FileDescription f, string name, byte[] value, int flags)
    {
        if (f is not TmpfsFile tf)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        TmpfsNode node = tf.Node;
        lock (node.Fs.Mu)
        {
            Errno e = MayUse(t.Credentials, node, name, write: true);
            if (e != Errno.None)
            {
                return -e.Value;
            }

            bool exists = node.Xattrs?.ContainsKey(name) == true;
            if ((flags & XATTR_CREATE) != 0 && exists)
            {
                return -Errno.EEXIST.Value;
            }

            if ((flags & XATTR_REPLACE) != 0 && !exists)
            {
                return -Errno.ENODATA.Value;
            }

            node.Xattrs ??= new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
            node.Xattrs[name] = value;
            node.Touch(modified: false);
            return 0;
        }
    }

    /// <summary>Implements getxattr on an open file. Returns 0 with the value or -errno (ENODATA when absent).</summary>
    public static long Get(Task t, FileDescription f, string name, out byte[]? value)
    {
        value = null;
        if (f is HostFileDescription { Volume: null, Path: not null } lower)
        {
            // A host file of the root, not copied up: the sandbox shows none of the host's attributes.
            return lower.Stat(out Stat st) < 0 ? -Errno.EIO.Value : -MayAccessOrNoData(t.Credentials, st, name).Value;
        }

        if (f is not TmpfsFile tf)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        TmpfsNode node = tf.Node;
        lock (node.Fs.Mu)
        {
            Errno e = MayUse(t.Credentials, node, name, write: false);
            if (e != Errno.None)
            {
                return -e.Value;
            }

            if (node.Xattrs == null || !node.Xattrs.TryGetValue(name, out value))
            {
                return -Errno.ENODATA.Value;
            }

            return 0;
        }
    }

    /// <summary>Implements listxattr on an open file: the names the caller may see, in a stable order.</summary>
    public static long List(Task t, FileDescription f, List<string> names)
    {
        if (f is HostFileDescription { Volume: null, Path: not null })
        {
            return 0;
        }

        if (f is not TmpfsFile tf)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        TmpfsNode node = tf.Node;
        bool admin = t.Credentials.HasCapability(Credentials.CAP_SYS_ADMIN);
        lock (node.Fs.Mu)
        {
            if (node.Xattrs != null)
            {
                foreach (string name in node.Xattrs.Keys)
                {
                    if (admin || !name.StartsWith(TrustedPrefix, StringComparison.Ordinal))
                    {
                        names.Add(name);
                    }
                }
            }
        }

        return 0;
    }

    /// <summary>Implements removexattr on an open file (the caller copied a host file up). Returns 0 or -errno.</summary>
    public static long Remove(Task t, FileDescription f, string name)
    {
        if (f is not TmpfsFile tf)
        {
            return -Errno.EOPNOTSUPP.Value;
        }

        TmpfsNode node = tf.Node;
        lock (node.Fs.Mu)
        {
            Errno e = MayUse(t.Credentials, node, name, write: true);
            if (e != Errno.None)
            {
                return -e.Value;
            }

            if (node.Xattrs == null || !node.Xattrs.Remove(name))
            {
                return -Errno.ENODATA.Value;
            }

            node.Touch(modified: false);
            return 0;
        }
    }

    private static bool Supported(string name) =>
        name.StartsWith(UserPrefix, StringComparison.Ordinal) || name.StartsWith(TrustedPrefix, StringComparison.Ordinal) ||
        name.StartsWith(SecurityPrefix, StringComparison.Ordinal);

    /// <summary>Linux's xattr_permission, then inode_permission for what reaches it. Returns None or the errno.</summary>
    public static Errno MayAccess(Credentials c, in Stat st, string name, bool write)
    {
        if (name.StartsWith(SecurityPrefix, StringComparison.Ordinal) || name.StartsWith("system.", StringComparison.Ordinal))
        {
            return Errno.None;
        }

        if (name.StartsWith(TrustedPrefix, StringComparison.Ordinal))
        {
            return c.HasCapability(Credentials.CAP_SYS_ADMIN) ? Errno.None : write ? Errno.EPERM : Errno.ENODATA;
        }

        if (name.StartsWith(UserPrefix, StringComparison.Ordinal))
        {
            uint type = st.st_mode & Stat.S_IFMT;
            if (type != Stat.S_IFREG && type != Stat.S_IFDIR)
            {
                return write ? Errno.EPERM : Errno.ENODATA;
            }

            if (type == Stat.S_IFDIR && (st.st_mode & Stat.S_ISVTX) != 0 && write && !Permissions.IsOwnerOrCapable(c, st.st_uid))
            {
                return Errno.EPERM;
            }
        }

        return Permissions.Check(c, st, write ? Permissions.MayWrite : Permissions.MayRead);
    }

    // getxattr of a file without attributes: the permission checks' answer, else ENODATA (or EOPNOTSUPP).
    private static Errno MayAccessOrNoData(Credentials c, in Stat st, string name)
    {
        Errno e = MayAccess(c, st, name, write: false);
        return e != Errno.None ? e : Supported(name) ? Errno.ENODATA : Errno.EOPNOTSUPP;
    }
}
