using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

internal static partial class Gemm
{
    /// <summary>
    /// Floats the per-thread workspace holds from its first use: enough for every shape up to 1024-wide layers on every path
    /// (the packed X block of a Forward, or the packed A block and B chunk of an outer product), so that the warm-up call of
    /// any such shape already allocates the final buffer and later, larger shapes of that size class never do.
    /// </summary>
    private const int WorkspaceInitialFloats = 256 * 1024;

    /// <summary>Floats from one 64-byte boundary to the next: the alignment of the workspace and of its regions.</summary>
    private const int AlignFloats = 64 / sizeof(float);

    [ThreadStatic] private static float[]? t_workspace;
    [ThreadStatic] private static int t_workspaceStart;

    /// <summary>
    /// This thread's packing scratch, at least <paramref name="floats"/> long, starting on a 64-byte boundary.
    /// </summary>
    /// <remarks>
    /// Why a per-thread heap buffer: the packed blocks (up to about 1 MiB) are far larger than the stack should carry, and the
    /// kernels are called from the training workers and from any thread that runs inference, so one buffer per thread needs no
    /// locking. It is allocated once per thread (and again only if a larger shape needs more: the first call of that shape);
    /// every later call allocates nothing. It lives on the pinned object heap so that its address, hence its 64-byte alignment,
    /// never changes: the packed operands are then read with aligned vector loads whatever the alignment of the caller's arrays
    /// (measured on Zen 4 with 4-byte-misaligned arrays, a 512-bit load that splits a cache line cost the 1024 x 1024 forward
    /// 20 % of its speed). Callers must not nest: a kernel that holds the workspace calls no other kernel that uses it.
    /// </remarks>
    private static ref float Workspace(int floats)
    {
        float[]? buffer = t_workspace;
        if (buffer is null || buffer.Length - t_workspaceStart < floats)
            buffer = GrowWorkspace(floats);
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(buffer), t_workspaceStart);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe float[] GrowWorkspace(int floats)
    {
        int length = Math.Max(WorkspaceInitialFloats, floats) + AlignFloats;
        float[] buffer = GC.AllocateUninitializedArray<float>(length, pinned: true);
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        t_workspaceStart = (int)((-address & (64 - 1)) / sizeof(float));
        t_workspace = buffer;
        return buffer;
    }

    /// <summary>
    /// The row stride of a packed block whose rows hold <paramref name="length"/> floats: whole cache lines, and never a
    /// multiple of 1 KiB, so that the few rows a micro-kernel reads together fall in different L1 sets (a 4 KiB stride puts
    /// every one in the same set of Zen 4's 8-way, 64-set L1, and the loads of different rows also alias on their low 12
    /// address bits). 1 KiB rather than 4 KiB: a stride of 1 KiB, 2 KiB or 3 KiB still maps 4 or more rows onto few sets.
    /// </summary>
    private static int PackedStride(int length)
    {
        int stride = AlignUp(length);
        return stride % 256 == 0 ? stride + AlignFloats : stride;
    }

    /// <summary><paramref name="floats"/> rounded up to whole 64-byte lines (<see cref="AlignFloats"/>).</summary>
    private static int AlignUp(int floats) => (floats + AlignFloats - 1) / AlignFloats * AlignFloats;
}
