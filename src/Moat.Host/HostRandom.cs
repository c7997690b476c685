using System;
using Moat.Abi;

namespace Moat.Host;

/// <summary>
/// Random bytes from the host kernel's CSPRNG (getrandom(2)), with no library behind them: the Sentry needs
/// them after it has left every host path behind, where a crypto library could not be loaded any more.
/// </summary>
public static unsafe class HostRandom
{
    /// <summary>Fills <paramref name="buffer"/>; getrandom blocks only until the pool is first seeded.</summary>
    public static void Fill(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                long r = HostProcess.Syscall(Sysno.getrandom, (long)(p + done), buffer.Length - done, 0);
                if (r == -Errno.EINTR.Value)
                {
                    continue;
                }

                if (r <= 0)
                {
                    throw new InvalidOperationException("getrandom: " + Errno.FromValue((int)-r).Name);
                }

                done += (int)r;
            }
        }
    }
}
