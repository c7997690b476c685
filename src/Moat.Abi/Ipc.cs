using System.Runtime.InteropServices;

namespace Moat.Abi;

/// <summary>SysV IPC constants (include/uapi/linux/ipc.h, shm.h, sem.h, msg.h), as x86-64 sees them.</summary>
public static class IpcConst
{
    public const int IPC_PRIVATE = 0;

    public const int IPC_CREAT = 0x200;   // 01000
    public const int IPC_EXCL = 0x400;    // 02000
    public const int IPC_NOWAIT = 0x800;  // 04000

    public const int IPC_RMID = 0;
    public const int IPC_SET = 1;
    public const int IPC_STAT = 2;
    public const int IPC_INFO = 3;

    public const int SHM_LOCK = 11;
    public const int SHM_UNLOCK = 12;
    public const int SHM_STAT = 13;
    public const int SHM_INFO = 14;
    public const int SHM_STAT_ANY = 15;

    public const int SHM_RDONLY = 0x1000;  // 010000
    public const int SHM_RND = 0x2000;     // 020000
    public const int SHM_REMAP = 0x4000;   // 040000
    public const int SHM_EXEC = 0x8000;    // 0100000

    /// <summary>Mode bits of a segment: marked for destruction, locked in memory.</summary>
    public const int SHM_DEST = 0x200;     // 01000
    public const int SHM_LOCKED = 0x400;   // 02000

    public const int GETPID = 11;
    public const int GETVAL = 12;
    public const int GETALL = 13;
    public const int GETNCNT = 14;
    public const int GETZCNT = 15;
    public const int SETVAL = 16;
    public const int SETALL = 17;
    public const int SEM_STAT = 18;
    public const int SEM_INFO = 19;
    public const int SEM_STAT_ANY = 20;

    public const int SEM_UNDO = 0x1000;

    public const int MSG_STAT = 11;
    public const int MSG_INFO = 12;
    public const int MSG_STAT_ANY = 13;

    public const int MSG_NOERROR = 0x1000;  // 010000
    public const int MSG_EXCEPT = 0x2000;   // 020000
    public const int MSG_COPY = 0x4000;     // 040000
}

/// <summary>struct ipc64_perm (48 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IpcPerm64
{
    public int key;
    public uint uid;
    public uint gid;
    public uint cuid;
    public uint cgid;
    public uint mode;
    public ushort seq;
    public ushort pad2;
    public uint pad3;
    public ulong unused1;
    public ulong unused2;
}

/// <summary>struct shmid64_ds (112 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ShmidDs
{
    public IpcPerm64 shm_perm;
    public ulong shm_segsz;
    public long shm_atime;
    public long shm_dtime;
    public long shm_ctime;
    public int shm_cpid;
    public int shm_lpid;
    public ulong shm_nattch;
    public ulong unused4;
    public ulong unused5;
}

/// <summary>struct shminfo64 (72 bytes), IPC_INFO's answer.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ShmInfo64
{
    public ulong shmmax;
    public ulong shmmin;
    public ulong shmmni;
    public ulong shmseg;
    public ulong shmall;
    public ulong unused1;
    public ulong unused2;
    public ulong unused3;
    public ulong unused4;
}

/// <summary>struct shm_info (48 bytes), SHM_INFO's answer.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ShmInfoUsage
{
    public int used_ids;
    public int pad;
    public ulong shm_tot;
    public ulong shm_rss;
    public ulong shm_swp;
    public ulong swap_attempts;
    public ulong swap_successes;
}

/// <summary>struct semid64_ds (104 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SemidDs
{
    public IpcPerm64 sem_perm;
    public long sem_otime;
    public ulong unused1;
    public long sem_ctime;
    public ulong unused2;
    public ulong sem_nsems;
    public ulong unused3;
    public ulong unused4;
}

/// <summary>struct seminfo (40 bytes), IPC_INFO's and SEM_INFO's answer.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SemInfo
{
    public int semmap;
    public int semmni;
    public int semmns;
    public int semmnu;
    public int semmsl;
    public int semopm;
    public int semume;
    public int semusz;
    public int semvmx;
    public int semaem;
}

/// <summary>struct sembuf (6 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SemBuf
{
    public ushort sem_num;
    public short sem_op;
    public short sem_flg;
}

/// <summary>struct msqid64_ds (120 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MsqidDs
{
    public IpcPerm64 msg_perm;
    public long msg_stime;
    public long msg_rtime;
    public long msg_ctime;
    public ulong msg_cbytes;
    public ulong msg_qnum;
    public ulong msg_qbytes;
    public int msg_lspid;
    public int msg_lrpid;
    public ulong unused4;
    public ulong unused5;
}

/// <summary>struct msginfo (32 bytes), IPC_INFO's and MSG_INFO's answer.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MsgInfo
{
    public int msgpool;
    public int msgmap;
    public int msgmax;
    public int msgmnb;
    public int msgmni;
    public int msgssz;
    public int msgtql;
    public ushort msgseg;
    public ushort pad;
}
