using System;
using Moat.Abi;
using Moat.Sentry.Mm;

namespace Moat.Sentry.Vfs;

/// <summary>What a send carries besides bytes: files (SCM_RIGHTS) and claimed credentials (SCM_CREDENTIALS).</summary>
internal sealed class SendControl
{
    public FileDescription[]? Rights { get; set; }

    public UnixCredentials? Creds { get; set; }

    /// <summary>Drops the references on files that were not sent.</summary>
    public void Release()
    {
        if (Rights != null)
        {
            foreach (FileDescription f in Rights)
            {
                f.DecRef();
            }

            Rights = null;
        }
    }
}

/// <summary>What a receive returns besides bytes: the sender's name, credentials, files and MSG_ flags.</summary>
internal sealed class RecvResult
{
    /// <summary>The sending socket's name, or null when it has none (the address length is then 0).</summary>
    public string? From { get; set; }

    public UnixCredentials? Creds { get; set; }

    /// <summary>Received files; the receiver owns one reference on each.</summary>
    public FileDescription[]? Rights { get; set; }

    /// <summary>MSG_TRUNC when a datagram was cut short.</summary>
    public int Flags { get; set; }
}
