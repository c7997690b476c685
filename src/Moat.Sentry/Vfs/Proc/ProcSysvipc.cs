using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Moat.Abi;
using Moat.Sentry.Kernel;
using Moat.Sentry.Kernel.Ipc;

namespace Moat.Sentry.Vfs.Proc;

/// <summary>/proc/sysvipc/{shm,sem,msg}: the IPC namespace's objects in Linux's formats, by index.</summary>
internal static class ProcSysvipc
{
    private const byte DtReg = 8;

    private static readonly string[] s_files = ["msg", "sem", "shm"];

    public static long Lookup(Task t, string[] parts, string path, out ProcNode? node)
    {
        node = null;
        if (parts.Length == 1)
        {
            node = new ProcNode(ProcKind.Directory, path, Entries: () =>
            {
                var e = new List<(string, byte)>();
                foreach (string f in s_files)
                {
                    e.Add((f, DtReg));
                }

                return e;
            });
            return 0;
        }

        if (parts.Length != 2 || Array.IndexOf(s_files, parts[1]) < 0)
        {
            return -Errno.ENOENT.Value;
        }

        string name = parts[1];
        node = new ProcNode(ProcKind.File, path, Content: () => Encoding.ASCII.GetBytes(Content(t.Kernel.Ipc, t.PidNs, name)));
        return 0;
    }

    // Pids are shown in the reader's pid namespace (0 for a process it cannot see).
    private static string Content(IpcNamespace ns, PidNamespace pidNs, string name) => name switch
    {
        "shm" => Shm(ns.Shm, pidNs),
        "sem" => Sem(ns.Sem),
        _ => Msg(ns.Msg, pidNs),
    };

    private static List<T> ByIndex<T>(IpcIdTable<T> table)
        where T : IpcObject
    {
        var list = new List<T>(table.All);
        list.Sort((a, b) => a.Index.CompareTo(b.Index));
        return list;
    }

    private static string Shm(ShmRegistry r, PidNamespace pidNs)
    {
        var sb = new StringBuilder("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n");
        lock (r.Mu)
        {
            foreach (ShmSegment s in ByIndex(r.Table))
            {
                sb.Append(CultureInfo.InvariantCulture, $"{s.Key,10} {s.Id,10}  {Convert.ToString(s.Mode, 8),4} {s.Size,21} {s.CreatorPid.In(pidNs),5} {s.LastPid?.In(pidNs) ?? 0,5}  {s.Attachments,5} {s.Uid,5} {s.Gid,5} {s.Cuid,5} {s.Cgid,5} {s.AttachTime,10} {s.DetachTime,10} {s.ChangeTime,10} {s.Length,21} {0,21}\n");
            }
        }

        return sb.ToString();
    }

    private static string Sem(SemRegistry r)
    {
        var sb = new StringBuilder("       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n");
        lock (r.Mu)
        {
            foreach (SemSet s in ByIndex(r.Table))
            {
                sb.Append(CultureInfo.InvariantCulture, $"{s.Key,10} {s.Id,10}  {Convert.ToString(s.Mode, 8),4} {s.Count,10} {s.Uid,5} {s.Gid,5} {s.Cuid,5} {s.Cgid,5} {s.OpTime,10} {s.ChangeTime,10}\n");
            }
        }

        return sb.ToString();
    }

    private static string Msg(MsgRegistry r, PidNamespace pidNs)
    {
        var sb = new StringBuilder("       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n");
        lock (r.Mu)
        {
            foreach (MsgQueue q in ByIndex(r.Table))
            {
                sb.Append(CultureInfo.InvariantCulture, $"{q.Key,10} {q.Id,10}  {Convert.ToString(q.Mode, 8),4}  {q.Bytes,10} {q.Messages.Count,10} {q.SendPid?.In(pidNs) ?? 0,5} {q.ReceivePid?.In(pidNs) ?? 0,5} {q.Uid,5} {q.Gid,5} {q.Cuid,5} {q.Cgid,5} {q.SendTime,10} {q.ReceiveTime,10} {q.ChangeTime,10}\n");
            }
        }

        return sb.ToString();
    }
}
