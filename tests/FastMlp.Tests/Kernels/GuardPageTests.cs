using System.Runtime.InteropServices;
using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// The GEMM kernels read nothing past their operands and write nothing past their outputs: every operand of a call sits
/// with its last float right before a page the process may not touch, so one float too far is a segmentation fault (the
/// test host dies) instead of a silent read of the neighbouring heap, which arrays sized exactly cannot show. Masked tails,
/// rows read whole into the next row, and clamped row pointers are what this guards; the results must also equal those of
/// the same call on ordinary arrays, bitwise.
/// </summary>
public class GuardPageTests
{
    /// <summary>(rows, inputs, outputs): every input count 1..40 (tails of every length on every path, rows shorter than a
    /// vector) against output counts that fill a block, leave one over or stop short of one, one row and a few.</summary>
    private static IEnumerable<(int Rows, int Inputs, int Outputs)> Shapes()
    {
        foreach (int rows in new[] { 1, 2, 5 })
            for (int inputs = 1; inputs <= 40; inputs++)
                foreach (int outputs in new[] { 1, 3, 8, 13, 16, 17, 33 })
                    yield return (rows, inputs, outputs);
        yield return (1, 300, 100);
        yield return (1, 100, 10);
        yield return (130, 20, 64);
        yield return (3, 1061, 7);
    }

    [Theory]
    [MemberData(nameof(GemmKernelTests.Paths), MemberType = typeof(GemmKernelTests))]
    public void Gemm_kernels_touch_nothing_past_their_operands(KernelPath path)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "The guard pages are made with Linux's mmap and mprotect.");
        int seed = 900;
        foreach (var (rows, inputs, outputs) in Shapes())
        {
            float[] x = Random(rows * inputs, ++seed), w = Random(outputs * inputs, ++seed), b = Random(outputs, ++seed);
            float[] dy = Random(rows * outputs, ++seed);
            string shape = $"{path} {rows}x{inputs}x{outputs}";

            float[] y = new float[rows * outputs];
            GemmKernelTests.Forward(path, x, w, b, y, rows, inputs, outputs);
            using (GuardedFloats gx = new(x), gw = new(w), gb = new(b), gy = new(new float[y.Length]))
            {
                GemmKernelTests.Forward(path, gx.Span, gw.Span, gb.Span, gy.Span, rows, inputs, outputs);
                AssertSame(y, gy.Span, $"Forward {shape}");
            }

            float[] dx = new float[rows * inputs];
            GemmKernelTests.InputGradient(path, dy, w, dx, rows, inputs, outputs);
            using (GuardedFloats gdy = new(dy), gw = new(w), gdx = new(new float[dx.Length]))
            {
                GemmKernelTests.InputGradient(path, gdy.Span, gw.Span, gdx.Span, rows, inputs, outputs);
                AssertSame(dx, gdx.Span, $"InputGradient {shape}");
            }

            float[] dw = new float[outputs * inputs], db = new float[outputs];
            GemmKernelTests.WeightGradient(path, dy, x, dw, db, rows, inputs, outputs, acc: false);
            using (GuardedFloats gdy = new(dy), gx = new(x), gdw = new(new float[dw.Length]), gdb = new(new float[db.Length]))
            {
                GemmKernelTests.WeightGradient(path, gdy.Span, gx.Span, gdw.Span, gdb.Span, rows, inputs, outputs, acc: false);
                AssertSame(dw, gdw.Span, $"WeightGradient dw {shape}");
                AssertSame(db, gdb.Span, $"WeightGradient db {shape}");
            }
        }
    }

    private static void AssertSame(float[] expected, Span<float> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: [{i}] = {actual[i]:R} next to a guard page, {expected[i]:R} in an array.");
    }

    private static float[] Random(int n, int seed)
    {
        var rnd = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>A copy of some floats whose last one ends exactly where an inaccessible page begins.</summary>
    private sealed unsafe class GuardedFloats : IDisposable
    {
        private const int ProtNone = 0, ProtReadWrite = 3, MapPrivateAnonymous = 0x22;
        private readonly nint _base;
        private readonly nuint _bytes;
        private readonly int _count;

        public GuardedFloats(float[] values)
        {
            nuint page = (nuint)Environment.SystemPageSize;
            nuint data = ((nuint)values.Length * sizeof(float) + page - 1) / page * page;
            _bytes = data + page;
            _base = mmap(0, _bytes, ProtReadWrite, MapPrivateAnonymous, -1, 0);
            if (_base == -1)
                throw new InvalidOperationException($"mmap of {_bytes} bytes failed (errno {Marshal.GetLastPInvokeError()}).");
            if (mprotect(_base + (nint)data, page, ProtNone) != 0)
                throw new InvalidOperationException($"mprotect failed (errno {Marshal.GetLastPInvokeError()}).");
            _count = values.Length;
            values.CopyTo(Span);
        }

        /// <summary>The floats, the last one immediately before the guard page.</summary>
        public Span<float> Span
        {
            get
            {
                nint guard = _base + (nint)(_bytes - (nuint)Environment.SystemPageSize);
                return new Span<float>((void*)(guard - _count * sizeof(float)), _count);
            }
        }

        public void Dispose() => munmap(_base, _bytes);

        [DllImport("libc", SetLastError = true)]
        private static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

        [DllImport("libc", SetLastError = true)]
        private static extern int mprotect(nint address, nuint length, int protection);

        [DllImport("libc", SetLastError = true)]
        private static extern int munmap(nint address, nuint length);
    }
}
