using System.Runtime.InteropServices;

namespace Moat.Host;

/// <summary>struct iovec, for the host sendmsg/recvmsg calls of this assembly.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Len;
}

/// <summary>struct msghdr (x86-64 layout), for the host sendmsg/recvmsg calls of this assembly.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLen;
    public IoVec* Iov;
    public nuint IovLen;
    public void* Control;
    public nuint ControlLen;
    public int Flags;
}
