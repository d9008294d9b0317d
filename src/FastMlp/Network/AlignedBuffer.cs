namespace FastMlp;

/// <summary>
/// A float buffer whose first element sits on a 64-byte boundary (one cache line, one AVX-512
/// vector). Backed by a pinned array so the address never moves and the offset stays valid.
/// </summary>
internal sealed class AlignedBuffer
{
    /// <summary>Alignment in floats (64 bytes).</summary>
    public const int AlignmentFloats = 16;

    private readonly float[] _array;
    private readonly int _offset;

    public AlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _array = GC.AllocateArray<float>(length + AlignmentFloats, pinned: true);
        unsafe
        {
            fixed (float* p = _array)
            {
                long misalignment = (long)p % 64;
                _offset = misalignment == 0 ? 0 : (int)((64 - misalignment) / sizeof(float));
            }
        }
        Length = length;
    }

    public int Length { get; }

    public Span<float> Span => _array.AsSpan(_offset, Length);

    public Memory<float> Memory => _array.AsMemory(_offset, Length);

    /// <summary>
    /// The first <paramref name="length"/> floats of <paramref name="buffer"/> (a stack buffer <see cref="AlignmentFloats"/>
    /// longer) from its first 64-byte boundary: vector stores into it never split a cache line, and a store that splits
    /// one is not forwarded to the loads that follow it (they wait for it to reach L1).
    /// </summary>
    public static unsafe Span<float> AlignStack(Span<float> buffer, int length)
    {
        nint address = (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(buffer));
        return buffer.Slice((int)((-address & 63) / sizeof(float)), length);
    }

    /// <summary>Rounds a float count up to a whole number of 64-byte lines.</summary>
    public static int RoundUp(int floats) => (floats + AlignmentFloats - 1) / AlignmentFloats * AlignmentFloats;
}
