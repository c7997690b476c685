namespace Moat.Platform;

/// <summary>
/// One change of a host address space for <see cref="IAddressSpace.Apply"/>: map MemoryFile bytes
/// [FileOffset, FileOffset+Length) at Addr with Prot, or (Unmap) remove every mapping in [Addr, Addr+Length).
/// </summary>
public readonly record struct MappingChange(ulong Addr, ulong Length, long FileOffset, int Prot, bool Unmap)
{
    public static MappingChange Map(ulong addr, ulong length, long fileOffset, int prot) => new(addr, length, fileOffset, prot, false);

    public static MappingChange Remove(ulong addr, ulong length) => new(addr, length, 0, 0, true);
}
