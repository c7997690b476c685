using System;
using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// IPv4 fragment reassembly (RFC 791, with Linux's limits): datagrams are keyed by source, destination, protocol
/// and identification; a datagram not complete after 30 s (ipfrag_time) is dropped with an ICMP time-exceeded
/// when its first fragment came; fragments held by all datagrams together stay under 4 MiB (ipfrag_high_thresh);
/// an overlapping fragment (other than an exact duplicate) drops its datagram, as Linux does since the
/// FragmentSmack fixes. Protected by the stack's lock.
/// </summary>
internal sealed class FragmentReassembler
{
    public const long TimeoutNs = 30_000_000_000;
    public const int HighThreshold = 4 * 1024 * 1024;
    private const int MaxDatagram = 65535;

    private readonly NetworkStack _stack;
    private readonly Dictionary<Key, Datagram> _pending = [];
    private int _bytesHeld;

    public FragmentReassembler(NetworkStack stack) => _stack = stack;

    private readonly record struct Key(Ip4Address Source, Ip4Address Destination, byte Protocol, ushort Id);

    private sealed class Datagram
    {
        public required PacketBuffer Buffer;
        public required StackTimer Timer;
        public readonly List<(int Start, int End)> Ranges = [];
        public int TotalPayload = -1;
        public int Received;
        public Ipv4Header First;
        public bool HaveFirst;
        public PacketBuffer? FirstFragment; // kept for the time-exceeded quote
    }

    /// <summary>Bytes held by incomplete datagrams.</summary>
    public int BytesHeld => _bytesHeld;

    public int PendingCount => _pending.Count;

    /// <summary>Adds a fragment (takes ownership); returns the whole datagram once the last piece arrives.</summary>
    public PacketBuffer? AddLocked(in Ipv4Header h, PacketBuffer p)
    {
        var key = new Key(h.Source, h.Destination, h.Protocol, h.Id);
        int start = h.FragmentOffset;
        int len = h.TotalLength - h.HeaderLength;
        int end = start + len;
        if ((h.MoreFragments && (len == 0 || (len & 7) != 0)) || end + Ipv4Header.MinLength > MaxDatagram)
        {
            _stack.Stats.IpReasmFails++;
            p.Release();
            return null;
        }
        if (!_pending.TryGetValue(key, out Datagram? d))
        {
            if (_bytesHeld + len > HighThreshold)
            {
                _stack.Stats.IpReasmFails++;
                p.Release();
                return null;
            }
            PacketBuffer buf = PacketBuffer.Rent(MaxDatagram);
            StackTimer timer = null!;
            d = new Datagram { Buffer = buf, Timer = timer };
            Datagram captured = d;
            d.Timer = new StackTimer(() => ExpireLocked(key, captured));
            _pending[key] = d;
            _stack.Timers.Arm(d.Timer, _stack.NowNs + TimeoutNs);
        }
        foreach ((int s, int e) in d.Ranges)
        {
            if (s == start && e == end)
            {
                p.Release(); // an exact duplicate
                return null;
            }
            if (start < e && s < end)
            {
                DropLocked(key, d);
                p.Release();
                return null;
            }
        }
        if ((!h.MoreFragments && (d.TotalPayload >= 0 || end < MaxEnd(d))) || (d.TotalPayload >= 0 && end > d.TotalPayload))
        {
            DropLocked(key, d); // two last fragments, or data beyond the end
            p.Release();
            return null;
        }
        if (!h.MoreFragments)
        {
            d.TotalPayload = end;
        }
        p.Span.Slice(h.HeaderLength, len).CopyTo(d.Buffer.Data.AsSpan(PacketBuffer.Headroom + Ipv4Header.MinLength + start));
        d.Ranges.Add((start, end));
        d.Received += len;
        _bytesHeld += len;
        if (start == 0)
        {
            d.First = h;
            d.HaveFirst = true;
            d.FirstFragment = p;
        }
        else
        {
            p.Release();
        }
        if (d.TotalPayload < 0 || d.Received != d.TotalPayload || !d.HaveFirst)
        {
            return null;
        }
        _pending.Remove(key);
        _bytesHeld -= d.Received;
        TimerQueue.Cancel(d.Timer);
        d.FirstFragment?.Release();
        Ipv4Header whole = d.First;
        whole.TotalLength = Ipv4Header.MinLength + d.TotalPayload;
        whole.FlagsAndOffset = 0;
        whole.HeaderLength = Ipv4Header.MinLength;
        PacketBuffer result = d.Buffer;
        result.SetView(PacketBuffer.Headroom, whole.TotalLength);
        whole.Write(result.Span);
        _stack.Stats.IpReasmOks++;
        return result;
    }

    private static int MaxEnd(Datagram d)
    {
        int m = 0;
        foreach ((int _, int e) in d.Ranges)
        {
            m = Math.Max(m, e);
        }
        return m;
    }

    private void ExpireLocked(Key key, Datagram d)
    {
        if (!_pending.TryGetValue(key, out Datagram? cur) || cur != d)
        {
            return;
        }
        if (d.FirstFragment != null)
        {
            _stack.SendIcmpErrorLocked(d.FirstFragment, IcmpType.TimeExceeded, IcmpType.CodeReassemblyTimeExceeded);
        }
        DropLocked(key, d);
    }

    private void DropLocked(Key key, Datagram d)
    {
        _pending.Remove(key);
        _bytesHeld -= d.Received;
        TimerQueue.Cancel(d.Timer);
        d.FirstFragment?.Release();
        d.Buffer.Release();
        _stack.Stats.IpReasmFails++;
    }
}
