using System.Collections.Generic;
using Moat.Abi;

namespace Moat.Sentry.Kernel.Ipc;

/// <summary>
/// The ids of one kind of IPC object (Linux's ipc_ids): indices handed out cyclically below
/// max(in_use * 3 / 2, 64) (capped by the limit), a sequence number bumped each time the cursor wraps, ids
/// built as index + seq * 32768, and the key index. Not thread-safe: its registry's lock protects it.
/// </summary>
internal sealed class IpcIdTable<T>
    where T : IpcObject
{
    /// <summary>IPCMNI: indices are below it; the id's low 15 bits.</summary>
    public const int IpcMni = 32768;

    private const int MinCycle = 64;
    private const int SeqMax = int.MaxValue >> 15;

    private readonly Dictionary<int, T> _byIndex = [];
    private readonly Dictionary<int, T> _byKey = [];
    private int _lastIndex = -1;
    private int _seq;

    /// <summary>
    /// The lookup of IPC_SET and IPC_RMID: EINVAL for no such id, EPERM for a caller that is neither owner nor
    /// creator nor CAP_SYS_ADMIN. Returns the object, or null with -errno in <paramref name="error"/>.
    /// </summary>
    public T? FindForControl(Credentials c, int id, out long error)
    {
        T? o = Find(id);
        error = o == null ? -Errno.EINVAL.Value : o.MayControl(c) ? 0 : -Errno.EPERM.Value;
        return error < 0 ? null : o;
    }

    /// <summary>
    /// The lookup of IPC_STAT and of *_STAT / *_STAT_ANY by index: EINVAL for no such object, EACCES without
    /// read permission when <paramref name="check"/>. Returns the object, or null with -errno in <paramref name="error"/>.
    /// </summary>
    public T? FindForStat(Credentials c, int idOrIndex, bool byIndex, bool check, out long error)
    {
        T? o = byIndex ? FindIndex(idOrIndex) : Find(idOrIndex);
        error = o == null ? -Errno.EINVAL.Value : check && !o.MayAccess(c, 0x124) ? -Errno.EACCES.Value : 0;
        return error < 0 ? null : o;
    }

    /// <summary>How many objects exist.</summary>
    public int InUse => _byIndex.Count;

    /// <summary>The highest index in use, or -1.</summary>
    public int MaxIndex { get; private set; } = -1;

    /// <summary>Every object, in no particular order.</summary>
    public Dictionary<int, T>.ValueCollection All => _byIndex.Values;

    /// <summary>The object with this key (never IPC_PRIVATE), or null.</summary>
    public T? FindKey(int key) => key == 0 ? null : _byKey.GetValueOrDefault(key);

    /// <summary>The object at this index (*_STAT), or null.</summary>
    public T? FindIndex(int index) => _byIndex.GetValueOrDefault(index);

    /// <summary>The object with this id, or null when it is gone or the id's sequence is stale.</summary>
    public T? Find(int id)
    {
        if (id < 0)
        {
            return null;
        }

        T? o = _byIndex.GetValueOrDefault(id % IpcMni);
        return o != null && o.Id == id ? o : null;
    }

    /// <summary>
    /// Gives <paramref name="o"/> an index and id and enters it, or returns false when
    /// <paramref name="limit"/> objects already exist (ENOSPC).
    /// </summary>
    public bool Add(T o, int limit)
    {
        int cap = System.Math.Min(limit, IpcMni);
        if (_byIndex.Count >= cap)
        {
            return false;
        }

        int end = System.Math.Min(System.Math.Max(_byIndex.Count * 3 / 2, MinCycle), cap);
        int index = -1;
        for (int i = _lastIndex + 1; i < end; i++)
        {
            if (!_byIndex.ContainsKey(i))
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            for (int i = 0; i < end && i <= _lastIndex; i++)
            {
                if (!_byIndex.ContainsKey(i))
                {
                    index = i;
                    break;
                }
            }
        }

        if (index < 0)
        {
            return false;
        }

        if (index <= _lastIndex)
        {
            _seq = _seq + 1 >= SeqMax ? 0 : _seq + 1;
        }

        _lastIndex = index;
        o.Index = index;
        o.Seq = (ushort)_seq;
        o.Id = (_seq * IpcMni) + index;
        _byIndex[index] = o;
        if (o.Key != 0)
        {
            _byKey[o.Key] = o;
        }

        MaxIndex = System.Math.Max(MaxIndex, index);
        return true;
    }

    /// <summary>Forgets the key of <paramref name="o"/> (a segment marked for destruction turns IPC_PRIVATE).</summary>
    public void MakePrivate(T o)
    {
        if (o.Key != 0 && _byKey.GetValueOrDefault(o.Key) == o)
        {
            _byKey.Remove(o.Key);
        }

        o.Key = 0;
    }

    /// <summary>Removes <paramref name="o"/> and marks it removed.</summary>
    public void Remove(T o)
    {
        if (_byIndex.GetValueOrDefault(o.Index) != o)
        {
            return;
        }

        MakePrivate(o);
        _byIndex.Remove(o.Index);
        o.Removed = true;
        if (o.Index == MaxIndex)
        {
            int m = o.Index - 1;
            while (m >= 0 && !_byIndex.ContainsKey(m))
            {
                m--;
            }

            MaxIndex = m;
        }
    }
}
