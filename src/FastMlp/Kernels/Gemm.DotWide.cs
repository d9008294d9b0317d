using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

// The wide Forward tile of the 32-register path (Avx512): 3 rows of X by 8 rows of W, 24 vector accumulators.
internal static partial class Gemm
{
    /// <summary>Rows of W in the wide dot tile (<see cref="DotPanel8"/>).</summary>
    private const int WideCols = 8;

    /// <summary>
    /// Bytes of X per row block of the wide tile: its X stream is 3 vectors per 24 multiply-adds (16 bytes a cycle at
    /// Zen 5's peak), which L3 sustains, so the block only keeps X out of DRAM; every block re-packs every W panel, and
    /// with 256 KiB blocks that cost the 256 x 1024 x 1024 forward about 15 % (measured).
    /// </summary>
    private const int WideXBlockBytes = 4 * 1024 * 1024;

    /// <summary>Outputs above which the wide path copies X into the workspace (aligned, <see cref="PackedStride"/>).</summary>
    /// <remarks>
    /// Measured on Zen 5 with arrays of any alignment: the copy paid on 256 x 784 x 256 (32 panels read it; +7 %), cost on
    /// 256 x 256 x 128 (16 panels; -5 %) and on the narrow layers (a 32 x 1024 x 10 forward 25 % slower), where X is read
    /// by one or two panels: only 3 of the tile's 11 loads come from X, so a split cache line costs less than a copy.
    /// </remarks>
    private const int WidePackOutputs = 128;

    /// <summary>
    /// The wide path's blocking (<see cref="WidePlan"/>). With one reduction chunk, X is packed only when many panels read it
    /// (<see cref="WidePackOutputs"/>) and the block fits the workspace's first size beside the rest, so that packing never
    /// makes the workspace grow for layers up to 1024 inputs. With several, every panel reads each chunk of the block again,
    /// so the block's chunk must stay in L2 (<see cref="WideChunkXBytes"/>) and is packed (a 2048-input row is 8 KiB:
    /// unpacked, the tile's 3 rows would share their L1 sets), the workspace growing once if it must.
    /// </summary>
    private static WidePlan WideBlocking(int rows, int inputs, int outputs, int width)
    {
        int vectorEnd = inputs / width * width;
        int chunk = WideChunk(vectorEnd, width);
        bool chunked = chunk < vectorEnd;
        int packed = PackedStride(inputs);
        int rowBlock = EvenBlock(rows, (chunked ? WideChunkXBytes / chunk : WideXBlockBytes / Math.Max(packed, 1)) / sizeof(float), 3);
        int panel = AlignUp(WideCols * (Math.Min(chunk, vectorEnd) + inputs - vectorEnd));
        int partials = chunked ? (rowBlock + 2) / 3 * 3 * WideCols * width : 0;
        bool pack = outputs > WidePackOutputs && (chunked || (long)rowBlock * packed <= WorkspaceInitialFloats - panel - partials);
        return new WidePlan(pack, pack ? packed : inputs, rowBlock, chunk, panel, partials);
    }

    /// <summary>
    /// How the wide path cuts a Forward: whether X is copied into the workspace and at what row stride, the rows per X block,
    /// the reduction chunk (<see cref="WideChunk"/>), and the workspace floats after the X block: the panel of one chunk
    /// (64-byte aligned) and, when there are several chunks, the partial sums of a block's tiles (24 vectors each).
    /// </summary>
    private readonly record struct WidePlan(bool Pack, int Stride, int RowBlock, int Chunk, int PanelFloats, int PartialFloats);

    /// <summary>
    /// The outputs of a block of <paramref name="rows"/> rows of X in groups of 8 (returns how many: the rest go through the
    /// 4-output tile): per group its W rows are packed chunk by chunk into <paramref name="panel"/> and met by every tile of
    /// the block (<see cref="DotPanel8"/>), the partial sums between chunks kept after the panel; the scalar tail of the
    /// inputs goes with the last chunk.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int DotWideOutputs<T, TVec, TOp>(ref float x, int xStride, ref float w, ref float b, ref float y, int rows,
        int inputs, int outputs, WidePlan plan, ref float panel, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int vectorEnd = inputs / T.Width * T.Width;
        ref float partial = ref Unsafe.Add(ref panel, plan.PanelFloats);
        int groups = WideOutputs(outputs);
        for (int o = 0; o < groups; o += WideCols)
        {
            ref float wo = ref Unsafe.Add(ref w, (nint)o * inputs);
            bool last = false;
            for (int k0 = 0; !last; k0 += plan.Chunk)
            {
                int length = Math.Min(plan.Chunk, vectorEnd - k0);
                last = k0 + length == vectorEnd;
                int tail = last ? inputs - vectorEnd : 0;
                PackPanel8<T, TVec>(ref Unsafe.Add(ref wo, k0), inputs, length, tail, ref panel);
                DotPanel8<T, TVec, TOp>(ref Unsafe.Add(ref x, k0), xStride, ref panel, ref Unsafe.Add(ref b, o), ref Unsafe.Add(ref y, o),
                    rows, length, tail, outputs, ref partial, k0 == 0, last, op);
            }
        }
        return groups;
    }

    /// <summary>
    /// Bytes of one chunk of an X block when the reduction is cut in chunks: half of Zen 5's 1 MiB L2, so that the 128
    /// rows of a 1024-float chunk stay there while every panel sweeps them. In one sweep on Zen 5 (256 x 2048 x 1024,
    /// 256 x 2000 x 1024 and 256 x 4096 x 256, one process each) it gave 169-178 GFLOP/s, against 153-157 with 256 KiB,
    /// 153-168 with 1 MiB and 107-164 with X unpacked; single processes on this shared machine vary by 10-20 %, so only the
    /// packing is a clear gain.
    /// </summary>
    private const int WideChunkXBytes = 512 * 1024;

    /// <summary>
    /// Whether the batched Forward uses the wide tile: it needs 24 accumulators, 3 X vectors and a W vector live at once,
    /// which only the 32 vector registers of Avx512 hold (16-float vectors: <see cref="IGemmSimd{TVec}.Width"/> is a
    /// JIT-time constant, so the test folds), at least one whole group of 8 outputs, and enough rows
    /// (<see cref="WideMinRows"/>; rows of at most 2 vectors from <see cref="WideMinRowsShort"/>).
    /// </summary>
    private static bool UseWideTile<T, TVec>(int rows, int inputs, int outputs) where T : struct, IGemmSimd<TVec> where TVec : struct =>
        T.Width == 16 && WideOutputs(outputs) > 0 && (rows >= WideMinRows || rows >= WideMinRowsShort && inputs <= 2 * T.Width);

    /// <summary>
    /// The outputs the wide tile computes: whole groups of 8, but the last 9 or 10 outputs of a layer go to the 4- and
    /// 5-output tiles (<see cref="DotForward"/>: 4 + 5, 5 + 5) instead of a group of 8 and a group of 1 or 2, which read all
    /// of X again for 1 or 2 outputs (Zen 5, one process, alternating: 256 x 1024 x 10 178 -> 214 GFLOP/s, 256 x 128 x 10
    /// 169 -> 180, 64 x 1024 x 10 177 -> 217).
    /// </summary>
    private static int WideOutputs(int outputs)
    {
        int groups = outputs / WideCols * WideCols;
        return groups > 0 && outputs - groups is 1 or 2 ? groups - WideCols : groups;
    }

    /// <summary>Rows from which the wide tile pays for its W panels (each panel is packed once per X block, for all its rows).</summary>
    /// <remarks>
    /// Measured on Zen 5 (one process, aligned operands) against the 4-output tile, which reads W in place: 2 to 16 rows
    /// lost up to half the speed (2 x 784 x 256: 47 against 98 GFLOP/s). Since the 4-output tile of whole-vector rows lost
    /// its scalar-tail call it is the faster up to 40 rows too (32 and 40 rows of 784x256, 256x128, 128x10, 64x32,
    /// 1024x1024 and 1024x10: 1.02-1.12x the wide tile, 32 x 1024 x 10 154 -> 166 GFLOP/s), level from 48 rows and slower
    /// from 64 (64 x 1024 x 1024 0.92x), but for rows of 2 vectors (32 x 32 x 32: 0.93x). It matters to training: a batch
    /// of 256 runs as shards of 32 rows, each of which packed every W again.
    /// </remarks>
    private const int WideMinRows = 48;

    /// <summary>Rows from which the wide tile takes rows of at most 2 vectors of inputs (<see cref="UseWideTile"/>): on such
    /// short reductions its horizontal sums, 8 outputs at a time, cost less than the 4-output tile's (32-48 x 32 x 32:
    /// 1.08-1.12x it).</summary>
    private const int WideMinRowsShort = 24;

    /// <summary>
    /// Copies a chunk of 8 rows of W, from <paramref name="w"/> at row stride <paramref name="ld"/>, into
    /// <paramref name="panel"/> (8 x (<paramref name="length"/> + <paramref name="tail"/>) floats): the first
    /// <paramref name="length"/> floats of each row (whole vectors) interleaved, for each vector step the 8 rows' vectors one
    /// after the other, then the <paramref name="tail"/> inputs that follow them transposed, for each the 8 rows' weights. The
    /// tile then reads one aligned, sequential stream with one pointer instead of 8 rows 4 KiB apart (a 1024-input layer),
    /// which would need 8 address registers and share the same few L1 sets.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackPanel8<T, TVec>(ref float w, nint ld, int length, int tail, ref float panel)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        ref float p = ref panel;
        for (int k = 0; k < length; k += width)
        {
            ref float wk = ref Unsafe.Add(ref w, k);
            for (int j = 0; j < WideCols; j++)
                T.Store(T.Load(ref Unsafe.Add(ref wk, j * ld)), ref Unsafe.Add(ref p, j * width));
            p = ref Unsafe.Add(ref p, WideCols * width);
        }
        // The inputs past the last whole vector, transposed: for each, the 8 rows' weights side by side.
        for (int k = length; k < length + tail; k++)
        {
            for (int j = 0; j < WideCols; j++)
                Unsafe.Add(ref p, j) = Unsafe.Add(ref w, j * ld + k);
            p = ref Unsafe.Add(ref p, WideCols);
        }
    }

    /// <summary>
    /// The longest reduction chunk of the wide tile, in floats: its panel of 8 W rows (32 KiB) and the 3 X rows it meets
    /// (12 KiB) fit Zen 5's 48 KiB L1. Past it the panel spills to L2 and every tile step streams 8 vectors from there,
    /// more than L2 delivers (a 256 x 2048 x 1024 forward ran at 110 GFLOP/s, 0.65x OpenBLAS, before the chunks).
    /// </summary>
    private const int WideMaxChunk = 1024;

    /// <summary>
    /// The chunk length (a multiple of <paramref name="width"/>) that cuts the whole vectors of a row
    /// (<paramref name="vectorEnd"/> floats) into as few even chunks of at most <see cref="WideMaxChunk"/> as they need.
    /// </summary>
    private static int WideChunk(int vectorEnd, int width)
    {
        int chunks = Math.Max(1, (vectorEnd + WideMaxChunk - 1) / WideMaxChunk);
        return Math.Max(width, (vectorEnd / chunks + width - 1) / width * width);
    }

    /// <summary>
    /// Rows 0..rEnd-1 of X, 3 at a time (one call per panel and chunk: the tile's set-up is not repeated per call), by the
    /// chunk of 8 W rows packed in <paramref name="panel"/> (<see cref="PackPanel8"/>): <paramref name="length"/> floats of
    /// whole vectors from <paramref name="x"/>, then on the <paramref name="last"/> chunk the <paramref name="tail"/>
    /// inputs after them. A row at or past rEnd re-reads row rEnd - 1 and is not stored. Each output is summed as every
    /// Forward kernel sums it: one vector accumulator along the inputs, the path's Sum tree (here 8 accumulators of a row
    /// reduced together: pairs within 128-bit lanes twice, then the lanes folded as (0 + 1) + (2 + 3), the additions of
    /// T.Sum), the scalar tail, then the bias. A chunk that is not the last stores its 24 accumulators in
    /// <paramref name="partial"/> (24 vectors per tile, in tile order) and the next one reloads them (unless
    /// <paramref name="first"/>): a vector stored and reloaded is exact, so the chains, and the bits, are those of one
    /// pass. Why 3 x 8 rather than 4 x 4: each X vector, streamed from the L2 block, now feeds 8 multiply-adds instead of
    /// 4, and the W vectors come from one packed L1 panel.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotPanel8<T, TVec, TOp>(ref float x, int xStride, ref float panel, ref float bo, ref float yo,
        int rEnd, int length, int tail, int outputs, ref float partial, bool first, bool last, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        int lastRow = rEnd - 1;
        Vector256<float> bias = Vector256.LoadUnsafe(ref bo);
        ref float part = ref partial;
        for (int r = 0; r < rEnd; r += 3, part = ref Unsafe.Add(ref part, 3 * WideCols * width))
        {
            ref float x0 = ref Unsafe.Add(ref x, (nint)r * xStride);
            // Rows 1 and 2 as offsets from row 0: the loop then keeps two moving pointers and two offsets in registers.
            nint d1 = (nint)(Math.Min(r + 1, lastRow) - r) * xStride, d2 = (nint)(Math.Min(r + 2, lastRow) - r) * xStride;
            TVec a00, a01, a02, a03, a04, a05, a06, a07, a10, a11, a12, a13, a14, a15, a16, a17;
            TVec a20, a21, a22, a23, a24, a25, a26, a27;
            if (first)
            {
                a00 = a01 = a02 = a03 = a04 = a05 = a06 = a07 = T.Zero;
                a10 = a11 = a12 = a13 = a14 = a15 = a16 = a17 = T.Zero;
                a20 = a21 = a22 = a23 = a24 = a25 = a26 = a27 = T.Zero;
            }
            else
            {
                a00 = Partial<T, TVec>(ref part, 0); a01 = Partial<T, TVec>(ref part, 1); a02 = Partial<T, TVec>(ref part, 2); a03 = Partial<T, TVec>(ref part, 3);
                a04 = Partial<T, TVec>(ref part, 4); a05 = Partial<T, TVec>(ref part, 5); a06 = Partial<T, TVec>(ref part, 6); a07 = Partial<T, TVec>(ref part, 7);
                a10 = Partial<T, TVec>(ref part, 8); a11 = Partial<T, TVec>(ref part, 9); a12 = Partial<T, TVec>(ref part, 10); a13 = Partial<T, TVec>(ref part, 11);
                a14 = Partial<T, TVec>(ref part, 12); a15 = Partial<T, TVec>(ref part, 13); a16 = Partial<T, TVec>(ref part, 14); a17 = Partial<T, TVec>(ref part, 15);
                a20 = Partial<T, TVec>(ref part, 16); a21 = Partial<T, TVec>(ref part, 17); a22 = Partial<T, TVec>(ref part, 18); a23 = Partial<T, TVec>(ref part, 19);
                a24 = Partial<T, TVec>(ref part, 20); a25 = Partial<T, TVec>(ref part, 21); a26 = Partial<T, TVec>(ref part, 22); a27 = Partial<T, TVec>(ref part, 23);
            }
            ref float p = ref panel;
            ref float xk = ref x0;
            for (int k = 0; k < length; k += width)
            {
                TVec xv0 = T.Load(ref xk);
                TVec xv1 = T.Load(ref Unsafe.Add(ref xk, d1));
                TVec xv2 = T.Load(ref Unsafe.Add(ref xk, d2));
                xk = ref Unsafe.Add(ref xk, width);
                TVec wv = T.Load(ref p);
                a00 = T.MulAdd(xv0, wv, a00); a10 = T.MulAdd(xv1, wv, a10); a20 = T.MulAdd(xv2, wv, a20);
                wv = T.Load(ref Unsafe.Add(ref p, width));
                a01 = T.MulAdd(xv0, wv, a01); a11 = T.MulAdd(xv1, wv, a11); a21 = T.MulAdd(xv2, wv, a21);
                wv = T.Load(ref Unsafe.Add(ref p, 2 * width));
                a02 = T.MulAdd(xv0, wv, a02); a12 = T.MulAdd(xv1, wv, a12); a22 = T.MulAdd(xv2, wv, a22);
                wv = T.Load(ref Unsafe.Add(ref p, 3 * width));
                a03 = T.MulAdd(xv0, wv, a03); a13 = T.MulAdd(xv1, wv, a13); a23 = T.MulAdd(xv2, wv, a23);
                wv = T.Load(ref Unsafe.Add(ref p, 4 * width));
                a04 = T.MulAdd(xv0, wv, a04); a14 = T.MulAdd(xv1, wv, a14); a24 = T.MulAdd(xv2, wv, a24);
                wv = T.Load(ref Unsafe.Add(ref p, 5 * width));
                a05 = T.MulAdd(xv0, wv, a05); a15 = T.MulAdd(xv1, wv, a15); a25 = T.MulAdd(xv2, wv, a25);
                wv = T.Load(ref Unsafe.Add(ref p, 6 * width));
                a06 = T.MulAdd(xv0, wv, a06); a16 = T.MulAdd(xv1, wv, a16); a26 = T.MulAdd(xv2, wv, a26);
                wv = T.Load(ref Unsafe.Add(ref p, 7 * width));
                a07 = T.MulAdd(xv0, wv, a07); a17 = T.MulAdd(xv1, wv, a17); a27 = T.MulAdd(xv2, wv, a27);
                p = ref Unsafe.Add(ref p, WideCols * width);
            }
            if (!last)
            {
                SetPartial<T, TVec>(ref part, 0, a00); SetPartial<T, TVec>(ref part, 1, a01); SetPartial<T, TVec>(ref part, 2, a02); SetPartial<T, TVec>(ref part, 3, a03);
                SetPartial<T, TVec>(ref part, 4, a04); SetPartial<T, TVec>(ref part, 5, a05); SetPartial<T, TVec>(ref part, 6, a06); SetPartial<T, TVec>(ref part, 7, a07);
                SetPartial<T, TVec>(ref part, 8, a10); SetPartial<T, TVec>(ref part, 9, a11); SetPartial<T, TVec>(ref part, 10, a12); SetPartial<T, TVec>(ref part, 11, a13);
                SetPartial<T, TVec>(ref part, 12, a14); SetPartial<T, TVec>(ref part, 13, a15); SetPartial<T, TVec>(ref part, 14, a16); SetPartial<T, TVec>(ref part, 15, a17);
                SetPartial<T, TVec>(ref part, 16, a20); SetPartial<T, TVec>(ref part, 17, a21); SetPartial<T, TVec>(ref part, 18, a22); SetPartial<T, TVec>(ref part, 19, a23);
                SetPartial<T, TVec>(ref part, 20, a24); SetPartial<T, TVec>(ref part, 21, a25); SetPartial<T, TVec>(ref part, 22, a26); SetPartial<T, TVec>(ref part, 23, a27);
                continue;
            }
            // Every sum before any call (an accumulator live across a call would be spilled inside the loop). Rows 0 and 1
            // share the last fold: its 128-bit lanes are then row 0's outputs 0-3 and 4-7, row 1's 0-3 and 4-7.
            TVec q0 = HalfSums8<T, TVec>(a00, a01, a02, a03, a04, a05, a06, a07);
            TVec q1 = HalfSums8<T, TVec>(a10, a11, a12, a13, a14, a15, a16, a17);
            TVec q2 = HalfSums8<T, TVec>(a20, a21, a22, a23, a24, a25, a26, a27);
            Vector512<float> s01 = AsVector512(T.FoldLanes(q0, q1)), s2 = AsVector512(T.FoldLanes(q2, q2));
            Vector256<float> v0 = s01.GetLower(), v1 = s01.GetUpper(), v2 = s2.GetLower();
            // The scalar tail (inputs not a multiple of the width), one input at a time in Gemv's order, 8 outputs at once:
            // lane by lane a multiply then an add (never fused), the scalar loop's two roundings. The panel holds the tail's
            // W columns transposed (8 floats per input), so each step is one load.
            ref float wt = ref p;
            for (int k = length; k < length + tail; k++)
            {
                Vector256<float> wk = Vector256.LoadUnsafe(ref wt);
                v0 += Vector256.Create(Unsafe.Add(ref x0, k)) * wk;
                v1 += Vector256.Create(Unsafe.Add(ref x0, d1 + k)) * wk;
                v2 += Vector256.Create(Unsafe.Add(ref x0, d2 + k)) * wk;
                wt = ref Unsafe.Add(ref wt, WideCols);
            }
            // Then the bias: lane by lane one IEEE addition, as the scalar b + s.
            v0 = bias + v0; v1 = bias + v1; v2 = bias + v2;
            if (typeof(TOp) != typeof(NoActivationOp))
            {
                // The path's element-wise operator on one full vector (rows 0 and 1) and on row 2: the same bits in every lane.
                Vector512<float> f01 = AsVector512(T.Apply(op, FromVector512<TVec>(Vector512.Create(v0, v1))));
                v0 = f01.GetLower(); v1 = f01.GetUpper();
                v2 = AsVector512(T.Apply(op, FromVector512<TVec>(Vector512.Create(v2, v2)))).GetLower();
            }
            int nr = Math.Min(3, rEnd - r);
            ref float y0 = ref Unsafe.Add(ref yo, (nint)r * outputs);
            v0.StoreUnsafe(ref y0);
            if (nr > 1) v1.StoreUnsafe(ref Unsafe.Add(ref y0, outputs));
            if (nr > 2) v2.StoreUnsafe(ref Unsafe.Add(ref y0, 2 * outputs));
        }
    }

    /// <summary>
    /// The sums of 8 accumulators up to their last fold: 128-bit lane 0 holds a0..a3's lanes (0 + 1) of the Sum tree's
    /// quads, lane 1 their (2 + 3), lanes 2 and 3 the same for a4..a7 (<see cref="IGemvSimd{TVec}.FoldLanes"/> of two of
    /// these finishes the sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec HalfSums8<T, TVec>(TVec a0, TVec a1, TVec a2, TVec a3, TVec a4, TVec a5, TVec a6, TVec a7)
        where T : struct, IGemvSimd<TVec> where TVec : struct =>
        T.FoldLanes(T.PairSums(T.PairSums(a0, a1), T.PairSums(a2, a3)), T.PairSums(T.PairSums(a4, a5), T.PairSums(a6, a7)));

    /// <summary>Accumulator <paramref name="i"/> of a tile's partial sums (24 vectors, row-major: 8 per X row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Partial<T, TVec>(ref float part, int i) where T : struct, IGemmSimd<TVec> where TVec : struct =>
        T.Load(ref Unsafe.Add(ref part, i * T.Width));

    /// <summary>Stores accumulator <paramref name="i"/> of a tile's partial sums (<see cref="Partial{T, TVec}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetPartial<T, TVec>(ref float part, int i, TVec v) where T : struct, IGemmSimd<TVec> where TVec : struct =>
        T.Store(v, ref Unsafe.Add(ref part, i * T.Width));

    /// <summary>The 16-float vector of the wide tile's path as a Vector512 (only called where T.Width is 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> AsVector512<TVec>(TVec v) where TVec : struct => Unsafe.As<TVec, Vector512<float>>(ref v);

    /// <summary>A Vector512 as the wide tile's path vector (only called where T.Width is 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec FromVector512<TVec>(Vector512<float> v) where TVec : struct => Unsafe.As<Vector512<float>, TVec>(ref v);
}
