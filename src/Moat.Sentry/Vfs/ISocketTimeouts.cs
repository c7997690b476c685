namespace Moat.Sentry.Vfs;

/// <summary>A socket's SO_RCVTIMEO and SO_SNDTIMEO: how long its blocking receives and sends wait, in microseconds (0: for ever).</summary>
internal interface ISocketTimeouts
{
    long ReceiveTimeoutUs { get; set; }

    long SendTimeoutUs { get; set; }
}
