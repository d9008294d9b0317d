using System.Runtime.CompilerServices;

namespace FastMlp.Kernels;

// Fixed-size scratch for the latency-critical kernels. A stackalloc costs a stack probe and a buffer-overrun guard
// check on every call; a local of one of these types costs nothing until it is written.

/// <summary>One quad of 512-bit vectors of floats (the widest path's <see cref="Quad512.Count"/>).</summary>
[InlineArray(64)]
internal struct QuadBuffer
{
    private float _first;
}

/// <summary>A block of short softmax rows turned into columns: 16 rows of up to 64 floats (less than a quad of the widest path).</summary>
[InlineArray(1024)]
internal struct BlockBuffer
{
    private float _first;
}

/// <summary>
/// Per-chunk state of a long softmax row (the first <see cref="Chunks"/> slots the chunk maxima, then their scales;
/// the other half the chunk sums): 1 KiB, so a row of any length needs no heap and no large stackalloc.
/// </summary>
[InlineArray(2 * Chunks)]
internal struct SoftmaxChunkStats
{
    /// <summary>The most chunks a row is cut into (longer rows get longer chunks).</summary>
    public const int Chunks = 64;

    private double _first;
}
