using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace Moat.Sentry.Net.Stack;

/// <summary>
/// ARP (RFC 826) for Ethernet interfaces: the neighbour cache, requests for unresolved next hops (three tries a
/// second apart, as Linux's mcast_solicit), and the packets waiting for an answer. Protected by the stack's lock.
/// </summary>
internal sealed class ArpCache
{
    public const int PacketLength = 28;
    private const int MaxTries = 3;
    private const long RetryNs = 1_000_000_000;
    private const int MaxQueued = 64;

    private readonly NetworkStack _stack;
    private readonly Dictionary<(int Nic, Ip4Address Ip), Entry> _entries = [];

    public ArpCache(NetworkStack stack) => _stack = stack;

    private sealed class Entry
    {
        public MacAddress Mac;
        public bool Resolved;
        public int Tries;
        public readonly List<PacketBuffer> Waiting = [];
        public StackTimer? Timer;
    }

    /// <summary>Entries resolved so far (tests, /proc/net/arp later).</summary>
    public int ResolvedCount
    {
        get
        {
            int n = 0;
            foreach (Entry e in _entries.Values)
            {
                n += e.Resolved ? 1 : 0;
            }
            return n;
        }
    }

    /// <summary>The address of <paramref name="ip"/>, or false with <paramref name="p"/> queued until it is known.</summary>
    public bool TryResolveLocked(Nic nic, Ip4Address ip, PacketBuffer p, out MacAddress mac)
    {
        if (_entries.TryGetValue((nic.Id, ip), out Entry? e) && e.Resolved)
        {
            mac = e.Mac;
            return true;
        }
        mac = default;
        if (e == null)
        {
            e = new Entry();
            _entries[(nic.Id, ip)] = e;
            Entry captured = e;
            e.Timer = new StackTimer(() => RetryLocked(nic, ip, captured));
            SendRequestLocked(nic, ip);
            e.Tries = 1;
            _stack.Timers.Arm(e.Timer, _stack.NowNs + RetryNs);
        }
        if (e.Waiting.Count < MaxQueued)
        {
            e.Waiting.Add(p);
        }
        else
        {
            p.Release();
        }
        return false;
    }

    private void RetryLocked(Nic nic, Ip4Address ip, Entry e)
    {
        if (e.Resolved)
        {
            return;
        }
        if (e.Tries >= MaxTries)
        {
            // Unreachable: the waiting packets are dropped; transports retransmit or time out on their own.
            foreach (PacketBuffer w in e.Waiting)
            {
                w.Release();
            }
            e.Waiting.Clear();
            _entries.Remove((nic.Id, ip));
            return;
        }
        e.Tries++;
        SendRequestLocked(nic, ip);
        _stack.Timers.Arm(e.Timer!, _stack.NowNs + RetryNs);
    }

    private static void SendRequestLocked(Nic nic, Ip4Address target)
    {
        PacketBuffer p = PacketBuffer.Rent(PacketLength);
        Write(p.Append(PacketLength), 1, nic.Link.Address, nic.Address, MacAddress.Zero, target);
        NetworkStack.WriteEthernetLocked(nic, MacAddress.Broadcast, NetworkStack.EtherTypeArp, p);
    }

    /// <summary>Handles a received ARP packet: learns the sender when the packet concerns us, answers requests.</summary>
    public void HandleLocked(Nic nic, PacketBuffer p)
    {
        ReadOnlySpan<byte> a = p.Span;
        if (a.Length < PacketLength || BinaryPrimitives.ReadUInt16BigEndian(a) != 1
            || BinaryPrimitives.ReadUInt16BigEndian(a[2..]) != NetworkStack.EtherTypeIpv4 || a[4] != 6 || a[5] != 4)
        {
            p.Release();
            return;
        }
        ushort op = BinaryPrimitives.ReadUInt16BigEndian(a[6..]);
        var senderMac = MacAddress.Read(a[8..]);
        var senderIp = Ip4Address.Read(a[14..]);
        var targetIp = Ip4Address.Read(a[24..]);
        p.Release();
        bool forUs = targetIp == nic.Address;
        if (_entries.TryGetValue((nic.Id, senderIp), out Entry? e) || forUs)
        {
            LearnLocked(nic, senderIp, senderMac, e);
        }
        if (op == 1 && forUs)
        {
            PacketBuffer r = PacketBuffer.Rent(PacketLength);
            Write(r.Append(PacketLength), 2, nic.Link.Address, nic.Address, senderMac, senderIp);
            NetworkStack.WriteEthernetLocked(nic, senderMac, NetworkStack.EtherTypeArp, r);
        }
    }

    private void LearnLocked(Nic nic, Ip4Address ip, MacAddress mac, Entry? e)
    {
        if (e == null)
        {
            e = new Entry();
            _entries[(nic.Id, ip)] = e;
        }
        e.Mac = mac;
        e.Resolved = true;
        if (e.Timer != null)
        {
            TimerQueue.Cancel(e.Timer);
        }
        foreach (PacketBuffer w in e.Waiting)
        {
            NetworkStack.WriteEthernetLocked(nic, mac, NetworkStack.EtherTypeIpv4, w);
        }
        e.Waiting.Clear();
    }

    private static void Write(Span<byte> a, ushort op, MacAddress sha, Ip4Address spa, MacAddress tha, Ip4Address tpa)
    {
        BinaryPrimitives.WriteUInt16BigEndian(a, 1);
        BinaryPrimitives.WriteUInt16BigEndian(a[2..], NetworkStack.EtherTypeIpv4);
        a[4] = 6;
        a[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(a[6..], op);
        sha.Write(a[8..]);
        spa.Write(a[14..]);
        tha.Write(a[18..]);
        tpa.Write(a[24..]);
    }
}
