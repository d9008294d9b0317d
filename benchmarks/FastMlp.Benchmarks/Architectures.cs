using FastMlp.Kernels;

namespace FastMlp.Benchmarks;

/// <summary>Builds the benchmarked networks from strings like "784-256-128-10" and checks their outputs.</summary>
internal static class Architectures
{
    /// <summary>The architectures every benchmark class runs: tiny (call overhead), small, MNIST-sized.</summary>
    public const string Tiny = "2-3-2", Small = "64-32-32-10", Mnist = "784-256-128-10";

    /// <summary>The large network of the threading and peer benchmarks (2.1 M parameters).</summary>
    public const string Wide = "1024-1024-1024-10";

    /// <summary>Seed for weights and data, so every run times the same numbers.</summary>
    public const int Seed = 20261123;

    /// <summary>
    /// "in-h1-...-out": ReLU on every hidden layer, softmax on the output layer, weights from the library's
    /// default initialisation with <see cref="Seed"/>.
    /// </summary>
    public static Network Build(string arch)
    {
        int[] sizes = arch.Split('-').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (sizes.Length < 2)
            throw new ArgumentException($"Architecture '{arch}' needs an input size and at least one layer.", nameof(arch));
        var layers = new LayerSpec[sizes.Length - 1];
        for (int i = 1; i < sizes.Length; i++)
            layers[i - 1] = new LayerSpec(sizes[i], i == sizes.Length - 1 ? Activation.Softmax : Activation.Relu);
        var net = new Network(sizes[0], layers);
        net.Initialize(Seed);
        return net;
    }

    /// <summary>
    /// <paramref name="values"/> copied to a buffer that starts on a 64-byte line, as the library's own parameter,
    /// gradient and activation buffers do: a kernel benchmarked on a plain array gets whatever alignment the GC gave it,
    /// and a misaligned C or W costs 2-15 % (split vector loads and stores), differently in each process.
    /// </summary>
    public static AlignedBuffer Aligned(float[] values)
    {
        var buffer = new AlignedBuffer(values.Length);
        values.CopyTo(buffer.Span);
        return buffer;
    }

    /// <summary>Uniform values in [-1, 1): roughly standardised features.</summary>
    public static float[] RandomInputs(int rows, int width, int seed)
    {
        var random = new Random(seed);
        var x = new float[rows * width];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>Class labels in [0, classes).</summary>
    public static int[] RandomLabels(int rows, int classes, int seed)
    {
        var random = new Random(seed);
        var labels = new int[rows];
        for (int i = 0; i < rows; i++) labels[i] = random.Next(classes);
        return labels;
    }

    /// <summary>
    /// Throws unless every value is finite and every softmax row sums to 1 (within float rounding):
    /// a broken kernel path must not be timed.
    /// </summary>
    public static void RequireSoftmaxRows(ReadOnlySpan<float> y, int rows, int width, string what)
    {
        if (y.Length < rows * width)
            throw new InvalidOperationException($"{what}: {y.Length} outputs for {rows} x {width}.");
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < width; j++)
            {
                float v = y[r * width + j];
                if (!float.IsFinite(v) || v < 0f)
                    throw new InvalidOperationException($"{what}: output [{r}, {j}] is {v}; the kernel path {KernelDispatch.Describe()} is broken, refusing to time it.");
                sum += v;
            }
            if (Math.Abs(sum - 1) > 1e-4)
                throw new InvalidOperationException($"{what}: softmax row {r} sums to {sum}; the kernel path {KernelDispatch.Describe()} is broken, refusing to time it.");
        }
    }

    /// <summary>Throws unless every value is finite.</summary>
    public static void RequireFinite(ReadOnlySpan<float> values, string what)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new InvalidOperationException($"{what}: element {i} is {values[i]}; the kernel path {KernelDispatch.Describe()} is broken, refusing to time it.");
    }

    /// <summary>Writes the kernel path into the benchmark log (the child process's output is logged), once per process.</summary>
    public static void LogKernelPath(string benchmark, int threads = 1) =>
        Console.WriteLine($"// FastMlp {benchmark}: kernels {KernelDispatch.Describe()}, Vector512 accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, {(threads == 1 ? "single thread" : $"{threads} threads")}");
}
