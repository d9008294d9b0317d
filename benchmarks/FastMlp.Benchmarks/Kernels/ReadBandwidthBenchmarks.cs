using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace FastMlp.Benchmarks.Kernels;

/// <summary>
/// The memory ceiling of a one-sample forward pass: one core reading a buffer front to back with 512-bit loads (8
/// independent sums, so the adds never wait), buffer after buffer of the same bytes, as a frozen network reads its
/// weights call after call. 943,680 bytes is the frozen copy of 784-256-128-10 (weights in 16-output panels and padded
/// biases); the others place it against L1, L2 and beyond. GB/s = Bytes / Mean.
/// </summary>
[Config(typeof(FastMlpConfig))]
public class ReadBandwidthBenchmarks
{
    private float[] _data = [];

    /// <summary>Bytes read per call.</summary>
    [Params(32 * 1024, 256 * 1024, 943_680, 4 * 1024 * 1024)]
    public int Bytes { get; set; }

    /// <summary>A pinned, 64-byte aligned buffer of <see cref="Bytes"/> (every size above is a whole number of 64-byte vectors).</summary>
    [GlobalSetup]
    public void Setup()
    {
        _data = GC.AllocateArray<float>(Bytes / sizeof(float) + 16, pinned: true);
        _data.AsSpan().Fill(1f);
    }

    /// <summary>One pass over the buffer.</summary>
    [Benchmark]
    public float Read512()
    {
        ref float p = ref AlignedStart(_data);
        int n = Bytes / sizeof(float);
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        int i = 0;
        for (; i <= n - 128; i += 128)
        {
            s0 += Vector512.LoadUnsafe(ref p, (nuint)i);
            s1 += Vector512.LoadUnsafe(ref p, (nuint)i + 16);
            s2 += Vector512.LoadUnsafe(ref p, (nuint)i + 32);
            s3 += Vector512.LoadUnsafe(ref p, (nuint)i + 48);
            s4 += Vector512.LoadUnsafe(ref p, (nuint)i + 64);
            s5 += Vector512.LoadUnsafe(ref p, (nuint)i + 80);
            s6 += Vector512.LoadUnsafe(ref p, (nuint)i + 96);
            s7 += Vector512.LoadUnsafe(ref p, (nuint)i + 112);
        }
        for (; i < n; i += 16)
            s0 += Vector512.LoadUnsafe(ref p, (nuint)i);
        return Vector512.Sum(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
    }

    private static unsafe ref float AlignedStart(float[] data)
    {
        nint address = (nint)Unsafe.AsPointer(ref data[0]);
        return ref data[(int)((-address & 63) / sizeof(float))];
    }
}
