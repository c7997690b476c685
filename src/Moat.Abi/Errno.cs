using System;
using System.Globalization;

namespace Moat.Abi;

/// <summary>
/// A Linux errno value (positive; syscalls return its negation). Values 1..133 follow
/// include/uapi/asm-generic/errno-base.h and errno.h (which x86-64 uses); 512..516 are the
/// kernel-internal restart codes from include/linux/errno.h, which must never reach user space.
/// <c>default(Errno)</c> is <see cref="None"/> (value 0, success).
/// </summary>
public readonly struct Errno : IEquatable<Errno>
{
    private Errno(int value) => Value = value;

    /// <summary>The raw (positive) errno number.</summary>
    public int Value { get; }

    /// <summary>No error (value 0).</summary>
    public static readonly Errno None;

    /// <summary>1: Operation not permitted.</summary>
    public static readonly Errno EPERM = new(1);
    /// <summary>2: No such file or directory.</summary>
    public static readonly Errno ENOENT = new(2);
    /// <summary>3: No such process.</summary>
    public static readonly Errno ESRCH = new(3);
    /// <summary>4: Interrupted system call.</summary>
    public static readonly Errno EINTR = new(4);
    /// <summary>5: I/O error.</summary>
    public static readonly Errno EIO = new(5);
    /// <summary>6: No such device or address.</summary>
    public static readonly Errno ENXIO = new(6);
    /// <summary>7: Argument list too long.</summary>
    public static readonly Errno E2BIG = new(7);
    /// <summary>8: Exec format error.</summary>
    public static readonly Errno ENOEXEC = new(8);
    /// <summary>9: Bad file number.</summary>
    public static readonly Errno EBADF = new(9);
    /// <summary>10: No child processes.</summary>
    public static readonly Errno ECHILD = new(10);
    /// <summary>11: Try again.</summary>
    public static readonly Errno EAGAIN = new(11);
    /// <summary>12: Out of memory.</summary>
    public static readonly Errno ENOMEM = new(12);
    /// <summary>13: Permission denied.</summary>
    public static readonly Errno EACCES = new(13);
    /// <summary>14: Bad address.</summary>
    public static readonly Errno EFAULT = new(14);
    /// <summary>15: Block device required.</summary>
    public static readonly Errno ENOTBLK = new(15);
    /// <summary>16: Device or resource busy.</summary>
    public static readonly Errno EBUSY = new(16);
    /// <summary>17: File exists.</summary>
    public static readonly Errno EEXIST = new(17);
    /// <summary>18: Cross-device link.</summary>
    public static readonly Errno EXDEV = new(18);
    /// <summary>19: No such device.</summary>
    public static readonly Errno ENODEV = new(19);
    /// <summary>20: Not a directory.</summary>
    public static readonly Errno ENOTDIR = new(20);
    /// <summary>21: Is a directory.</summary>
    public static readonly Errno EISDIR = new(21);
    /// <summary>22: Invalid argument.</summary>
    public static readonly Errno EINVAL = new(22);
    /// <summary>23: File table overflow.</summary>
    public static readonly Errno ENFILE = new(23);
    /// <summary>24: Too many open files.</summary>
    public static readonly Errno EMFILE = new(24);
    /// <summary>25: Not a typewriter.</summary>
    public static readonly Errno ENOTTY = new(25);
    /// <summary>26: Text file busy.</summary>
    public static readonly Errno ETXTBSY = new(26);
    /// <summary>27: File too large.</summary>
    public static readonly Errno EFBIG = new(27);
    /// <summary>28: No space left on device.</summary>
    public static readonly Errno ENOSPC = new(28);
    /// <summary>29: Illegal seek.</summary>
    public static readonly Errno ESPIPE = new(29);
    /// <summary>30: Read-only file system.</summary>
    public static readonly Errno EROFS = new(30);
    /// <summary>31: Too many links.</summary>
    public static readonly Errno EMLINK = new(31);
    /// <summary>32: Broken pipe.</summary>
    public static readonly Errno EPIPE = new(32);
    /// <summary>33: Math argument out of domain of func.</summary>
    public static readonly Errno EDOM = new(33);
    /// <summary>34: Math result not representable.</summary>
    public static readonly Errno ERANGE = new(34);
    /// <summary>35: Resource deadlock would occur.</summary>
    public static readonly Errno EDEADLK = new(35);
    /// <summary>36: File name too long.</summary>
    public static readonly Errno ENAMETOOLONG = new(36);
    /// <summary>37: No record locks available.</summary>
    public static readonly Errno ENOLCK = new(37);
    /// <summary>38: Invalid system call number.</summary>
    public static readonly Errno ENOSYS = new(38);
    /// <summary>39: Directory not empty.</summary>
    public static readonly Errno ENOTEMPTY = new(39);
    /// <summary>40: Too many symbolic links encountered.</summary>
    public static readonly Errno ELOOP = new(40);
    /// <summary>42: No message of desired type.</summary>
    public static readonly Errno ENOMSG = new(42);
    /// <summary>43: Identifier removed.</summary>
    public static readonly Errno EIDRM = new(43);
    /// <summary>44: Channel number out of range.</summary>
    public static readonly Errno ECHRNG = new(44);
    /// <summary>45: Level 2 not synchronized.</summary>
    public static readonly Errno EL2NSYNC = new(45);
    /// <summary>46: Level 3 halted.</summary>
    public static readonly Errno EL3HLT = new(46);
    /// <summary>47: Level 3 reset.</summary>
    public static readonly Errno EL3RST = new(47);
    /// <summary>48: Link number out of range.</summary>
    public static readonly Errno ELNRNG = new(48);
    /// <summary>49: Protocol driver not attached.</summary>
    public static readonly Errno EUNATCH = new(49);
    /// <summary>50: No CSI structure available.</summary>
    public static readonly Errno ENOCSI = new(50);
    /// <summary>51: Level 2 halted.</summary>
    public static readonly Errno EL2HLT = new(51);
    /// <summary>52: Invalid exchange.</summary>
    public static readonly Errno EBADE = new(52);
    /// <summary>53: Invalid request descriptor.</summary>
    public static readonly Errno EBADR = new(53);
    /// <summary>54: Exchange full.</summary>
    public static readonly Errno EXFULL = new(54);
    /// <summary>55: No anode.</summary>
    public static readonly Errno ENOANO = new(55);
    /// <summary>56: Invalid request code.</summary>
    public static readonly Errno EBADRQC = new(56);
    /// <summary>57: Invalid slot.</summary>
    public static readonly Errno EBADSLT = new(57);
    /// <summary>59: Bad font file format.</summary>
    public static readonly Errno EBFONT = new(59);
    /// <summary>60: Device not a stream.</summary>
    public static readonly Errno ENOSTR = new(60);
    /// <summary>61: No data available.</summary>
    public static readonly Errno ENODATA = new(61);
    /// <summary>62: Timer expired.</summary>
    public static readonly Errno ETIME = new(62);
    /// <summary>63: Out of streams resources.</summary>
    public static readonly Errno ENOSR = new(63);
    /// <summary>64: Machine is not on the network.</summary>
    public static readonly Errno ENONET = new(64);
    /// <summary>65: Package not installed.</summary>
    public static readonly Errno ENOPKG = new(65);
    /// <summary>66: Object is remote.</summary>
    public static readonly Errno EREMOTE = new(66);
    /// <summary>67: Link has been severed.</summary>
    public static readonly Errno ENOLINK = new(67);
    /// <summary>68: Advertise error.</summary>
    public static readonly Errno EADV = new(68);
    /// <summary>69: Srmount error.</summary>
    public static readonly Errno ESRMNT = new(69);
    /// <summary>70: Communication error on send.</summary>
    public static readonly Errno ECOMM = new(70);
    /// <summary>71: Protocol error.</summary>
    public static readonly Errno EPROTO = new(71);
    /// <summary>72: Multihop attempted.</summary>
    public static readonly Errno EMULTIHOP = new(72);
    /// <summary>73: RFS specific error.</summary>
    public static readonly Errno EDOTDOT = new(73);
    /// <summary>74: Not a data message.</summary>
    public static readonly Errno EBADMSG = new(74);
    /// <summary>75: Value too large for defined data type.</summary>
    public static readonly Errno EOVERFLOW = new(75);
    /// <summary>76: Name not unique on network.</summary>
    public static readonly Errno ENOTUNIQ = new(76);
    /// <summary>77: File descriptor in bad state.</summary>
    public static readonly Errno EBADFD = new(77);
    /// <summary>78: Remote address changed.</summary>
    public static readonly Errno EREMCHG = new(78);
    /// <summary>79: Can not access a needed shared library.</summary>
    public static readonly Errno ELIBACC = new(79);
    /// <summary>80: Accessing a corrupted shared library.</summary>
    public static readonly Errno ELIBBAD = new(80);
    /// <summary>81: .lib section in a.out corrupted.</summary>
    public static readonly Errno ELIBSCN = new(81);
    /// <summary>82: Attempting to link in too many shared libraries.</summary>
    public static readonly Errno ELIBMAX = new(82);
    /// <summary>83: Cannot exec a shared library directly.</summary>
    public static readonly Errno ELIBEXEC = new(83);
    /// <summary>84: Illegal byte sequence.</summary>
    public static readonly Errno EILSEQ = new(84);
    /// <summary>85: Interrupted system call should be restarted.</summary>
    public static readonly Errno ERESTART = new(85);
    /// <summary>86: Streams pipe error.</summary>
    public static readonly Errno ESTRPIPE = new(86);
    /// <summary>87: Too many users.</summary>
    public static readonly Errno EUSERS = new(87);
    /// <summary>88: Socket operation on non-socket.</summary>
    public static readonly Errno ENOTSOCK = new(88);
    /// <summary>89: Destination address required.</summary>
    public static readonly Errno EDESTADDRREQ = new(89);
    /// <summary>90: Message too long.</summary>
    public static readonly Errno EMSGSIZE = new(90);
    /// <summary>91: Protocol wrong type for socket.</summary>
    public static readonly Errno EPROTOTYPE = new(91);
    /// <summary>92: Protocol not available.</summary>
    public static readonly Errno ENOPROTOOPT = new(92);
    /// <summary>93: Protocol not supported.</summary>
    public static readonly Errno EPROTONOSUPPORT = new(93);
    /// <summary>94: Socket type not supported.</summary>
    public static readonly Errno ESOCKTNOSUPPORT = new(94);
    /// <summary>95: Operation not supported on transport endpoint.</summary>
    public static readonly Errno EOPNOTSUPP = new(95);
    /// <summary>96: Protocol family not supported.</summary>
    public static readonly Errno EPFNOSUPPORT = new(96);
    /// <summary>97: Address family not supported by protocol.</summary>
    public static readonly Errno EAFNOSUPPORT = new(97);
    /// <summary>98: Address already in use.</summary>
    public static readonly Errno EADDRINUSE = new(98);
    /// <summary>99: Cannot assign requested address.</summary>
    public static readonly Errno EADDRNOTAVAIL = new(99);
    /// <summary>100: Network is down.</summary>
    public static readonly Errno ENETDOWN = new(100);
    /// <summary>101: Network is unreachable.</summary>
    public static readonly Errno ENETUNREACH = new(101);
    /// <summary>102: Network dropped connection because of reset.</summary>
    public static readonly Errno ENETRESET = new(102);
    /// <summary>103: Software caused connection abort.</summary>
    public static readonly Errno ECONNABORTED = new(103);
    /// <summary>104: Connection reset by peer.</summary>
    public static readonly Errno ECONNRESET = new(104);
    /// <summary>105: No buffer space available.</summary>
    public static readonly Errno ENOBUFS = new(105);
    /// <summary>106: Transport endpoint is already connected.</summary>
    public static readonly Errno EISCONN = new(106);
    /// <summary>107: Transport endpoint is not connected.</summary>
    public static readonly Errno ENOTCONN = new(107);
    /// <summary>108: Cannot send after transport endpoint shutdown.</summary>
    public static readonly Errno ESHUTDOWN = new(108);
    /// <summary>109: Too many references: cannot splice.</summary>
    public static readonly Errno ETOOMANYREFS = new(109);
    /// <summary>110: Connection timed out.</summary>
    public static readonly Errno ETIMEDOUT = new(110);
    /// <summary>111: Connection refused.</summary>
    public static readonly Errno ECONNREFUSED = new(111);
    /// <summary>112: Host is down.</summary>
    public static readonly Errno EHOSTDOWN = new(112);
    /// <summary>113: No route to host.</summary>
    public static readonly Errno EHOSTUNREACH = new(113);
    /// <summary>114: Operation already in progress.</summary>
    public static readonly Errno EALREADY = new(114);
    /// <summary>115: Operation now in progress.</summary>
    public static readonly Errno EINPROGRESS = new(115);
    /// <summary>116: Stale file handle.</summary>
    public static readonly Errno ESTALE = new(116);
    /// <summary>117: Structure needs cleaning.</summary>
    public static readonly Errno EUCLEAN = new(117);
    /// <summary>118: Not a XENIX named type file.</summary>
    public static readonly Errno ENOTNAM = new(118);
    /// <summary>119: No XENIX semaphores available.</summary>
    public static readonly Errno ENAVAIL = new(119);
    /// <summary>120: Is a named type file.</summary>
    public static readonly Errno EISNAM = new(120);
    /// <summary>121: Remote I/O error.</summary>
    public static readonly Errno EREMOTEIO = new(121);
    /// <summary>122: Quota exceeded.</summary>
    public static readonly Errno EDQUOT = new(122);
    /// <summary>123: No medium found.</summary>
    public static readonly Errno ENOMEDIUM = new(123);
    /// <summary>124: Wrong medium type.</summary>
    public static readonly Errno EMEDIUMTYPE = new(124);
    /// <summary>125: Operation Canceled.</summary>
    public static readonly Errno ECANCELED = new(125);
    /// <summary>126: Required key not available.</summary>
    public static readonly Errno ENOKEY = new(126);
    /// <summary>127: Key has expired.</summary>
    public static readonly Errno EKEYEXPIRED = new(127);
    /// <summary>128: Key has been revoked.</summary>
    public static readonly Errno EKEYREVOKED = new(128);
    /// <summary>129: Key was rejected by service.</summary>
    public static readonly Errno EKEYREJECTED = new(129);
    /// <summary>130: Owner died.</summary>
    public static readonly Errno EOWNERDEAD = new(130);
    /// <summary>131: State not recoverable.</summary>
    public static readonly Errno ENOTRECOVERABLE = new(131);
    /// <summary>132: Operation not possible due to RF-kill.</summary>
    public static readonly Errno ERFKILL = new(132);
    /// <summary>133: Memory page has hardware error.</summary>
    public static readonly Errno EHWPOISON = new(133);

    // Aliases: same value as the primary name; Name reports the primary spelling.

    /// <summary>Alias of <see cref="EAGAIN"/> (11).</summary>
    public static readonly Errno EWOULDBLOCK = new(11);
    /// <summary>Alias of <see cref="EDEADLK"/> (35).</summary>
    public static readonly Errno EDEADLOCK = new(35);
    /// <summary>Alias of <see cref="EOPNOTSUPP"/> (95), as defined by glibc/musl.</summary>
    public static readonly Errno ENOTSUP = new(95);

    // Kernel-internal restart codes (include/linux/errno.h). Never visible to user space:
    // the signal-delivery path converts them to EINTR or restarts the syscall.

    /// <summary>512: Restart the syscall if the handler has SA_RESTART, else EINTR.</summary>
    public static readonly Errno ERESTARTSYS = new(512);
    /// <summary>513: Always restart the syscall.</summary>
    public static readonly Errno ERESTARTNOINTR = new(513);
    /// <summary>514: Restart the syscall only if no handler was run.</summary>
    public static readonly Errno ERESTARTNOHAND = new(514);
    /// <summary>516: Restart via restart_syscall(2).</summary>
    public static readonly Errno ERESTART_RESTARTBLOCK = new(516);

    private static readonly string?[] s_names = BuildNames();

    /// <summary>True if this is <see cref="None"/> (value 0).</summary>
    public bool IsNone => Value == 0;

    /// <summary>
    /// The primary Linux spelling (e.g. "ENOENT"), or "E&lt;number&gt;" for values without a name.
    /// Known values do not allocate.
    /// </summary>
    public string Name
    {
        get
        {
            string?[] names = s_names;
            int v = Value;
            if ((uint)v < (uint)names.Length && names[v] is string s)
            {
                return s;
            }

            return "E" + v.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Wraps a raw (positive) errno number.</summary>
    public static Errno FromValue(int v) => new(v);

    public bool Equals(Errno other) => Value == other.Value;

    public override bool Equals(object? obj) => obj is Errno other && Value == other.Value;

    public override int GetHashCode() => Value;

    public override string ToString() => Name;

    public static bool operator ==(Errno left, Errno right) => left.Value == right.Value;

    public static bool operator !=(Errno left, Errno right) => left.Value != right.Value;

    private static string?[] BuildNames()
    {
        var t = new string?[517];
        t[0] = "E0";
        t[1] = nameof(EPERM);
        t[2] = nameof(ENOENT);
        t[3] = nameof(ESRCH);
        t[4] = nameof(EINTR);
        t[5] = nameof(EIO);
        t[6] = nameof(ENXIO);
        t[7] = nameof(E2BIG);
        t[8] = nameof(ENOEXEC);
        t[9] = nameof(EBADF);
        t[10] = nameof(ECHILD);
        t[11] = nameof(EAGAIN);
        t[12] = nameof(ENOMEM);
        t[13] = nameof(EACCES);
        t[14] = nameof(EFAULT);
        t[15] = nameof(ENOTBLK);
        t[16] = nameof(EBUSY);
        t[17] = nameof(EEXIST);
        t[18] = nameof(EXDEV);
        t[19] = nameof(ENODEV);
        t[20] = nameof(ENOTDIR);
        t[21] = nameof(EISDIR);
        t[22] = nameof(EINVAL);
        t[23] = nameof(ENFILE);
        t[24] = nameof(EMFILE);
        t[25] = nameof(ENOTTY);
        t[26] = nameof(ETXTBSY);
        t[27] = nameof(EFBIG);
        t[28] = nameof(ENOSPC);
        t[29] = nameof(ESPIPE);
        t[30] = nameof(EROFS);
        t[31] = nameof(EMLINK);
        t[32] = nameof(EPIPE);
        t[33] = nameof(EDOM);
        t[34] = nameof(ERANGE);
        t[35] = nameof(EDEADLK);
        t[36] = nameof(ENAMETOOLONG);
        t[37] = nameof(ENOLCK);
        t[38] = nameof(ENOSYS);
        t[39] = nameof(ENOTEMPTY);
        t[40] = nameof(ELOOP);
        t[42] = nameof(ENOMSG);
        t[43] = nameof(EIDRM);
        t[44] = nameof(ECHRNG);
        t[45] = nameof(EL2NSYNC);
        t[46] = nameof(EL3HLT);
        t[47] = nameof(EL3RST);
        t[48] = nameof(ELNRNG);
        t[49] = nameof(EUNATCH);
        t[50] = nameof(ENOCSI);
        t[51] = nameof(EL2HLT);
        t[52] = nameof(EBADE);
        t[53] = nameof(EBADR);
        t[54] = nameof(EXFULL);
        t[55] = nameof(ENOANO);
        t[56] = nameof(EBADRQC);
        t[57] = nameof(EBADSLT);
        t[59] = nameof(EBFONT);
        t[60] = nameof(ENOSTR);
        t[61] = nameof(ENODATA);
        t[62] = nameof(ETIME);
        t[63] = nameof(ENOSR);
        t[64] = nameof(ENONET);
        t[65] = nameof(ENOPKG);
        t[66] = nameof(EREMOTE);
        t[67] = nameof(ENOLINK);
        t[68] = nameof(EADV);
        t[69] = nameof(ESRMNT);
        t[70] = nameof(ECOMM);
        t[71] = nameof(EPROTO);
        t[72] = nameof(EMULTIHOP);
        t[73] = nameof(EDOTDOT);
        t[74] = nameof(EBADMSG);
        t[75] = nameof(EOVERFLOW);
        t[76] = nameof(ENOTUNIQ);
        t[77] = nameof(EBADFD);
        t[78] = nameof(EREMCHG);
        t[79] = nameof(ELIBACC);
        t[80] = nameof(ELIBBAD);
        t[81] = nameof(ELIBSCN);
        t[82] = nameof(ELIBMAX);
        t[83] = nameof(ELIBEXEC);
        t[84] = nameof(EILSEQ);
        t[85] = nameof(ERESTART);
        t[86] = nameof(ESTRPIPE);
        t[87] = nameof(EUSERS);
        t[88] = nameof(ENOTSOCK);
        t[89] = nameof(EDESTADDRREQ);
        t[90] = nameof(EMSGSIZE);
        t[91] = nameof(EPROTOTYPE);
        t[92] = nameof(ENOPROTOOPT);
        t[93] = nameof(EPROTONOSUPPORT);
        t[94] = nameof(ESOCKTNOSUPPORT);
        t[95] = nameof(EOPNOTSUPP);
        t[96] = nameof(EPFNOSUPPORT);
        t[97] = nameof(EAFNOSUPPORT);
        t[98] = nameof(EADDRINUSE);
        t[99] = nameof(EADDRNOTAVAIL);
        t[100] = nameof(ENETDOWN);
        t[101] = nameof(ENETUNREACH);
        t[102] = nameof(ENETRESET);
        t[103] = nameof(ECONNABORTED);
        t[104] = nameof(ECONNRESET);
        t[105] = nameof(ENOBUFS);
        t[106] = nameof(EISCONN);
        t[107] = nameof(ENOTCONN);
        t[108] = nameof(ESHUTDOWN);
        t[109] = nameof(ETOOMANYREFS);
        t[110] = nameof(ETIMEDOUT);
        t[111] = nameof(ECONNREFUSED);
        t[112] = nameof(EHOSTDOWN);
        t[113] = nameof(EHOSTUNREACH);
        t[114] = nameof(EALREADY);
        t[115] = nameof(EINPROGRESS);
        t[116] = nameof(ESTALE);
        t[117] = nameof(EUCLEAN);
        t[118] = nameof(ENOTNAM);
        t[119] = nameof(ENAVAIL);
        t[120] = nameof(EISNAM);
        t[121] = nameof(EREMOTEIO);
        t[122] = nameof(EDQUOT);
        t[123] = nameof(ENOMEDIUM);
        t[124] = nameof(EMEDIUMTYPE);
        t[125] = nameof(ECANCELED);
        t[126] = nameof(ENOKEY);
        t[127] = nameof(EKEYEXPIRED);
        t[128] = nameof(EKEYREVOKED);
        t[129] = nameof(EKEYREJECTED);
        t[130] = nameof(EOWNERDEAD);
        t[131] = nameof(ENOTRECOVERABLE);
        t[132] = nameof(ERFKILL);
        t[133] = nameof(EHWPOISON);
        t[512] = nameof(ERESTARTSYS);
        t[513] = nameof(ERESTARTNOINTR);
        t[514] = nameof(ERESTARTNOHAND);
        t[516] = nameof(ERESTART_RESTARTBLOCK);
        return t;
    }
}
