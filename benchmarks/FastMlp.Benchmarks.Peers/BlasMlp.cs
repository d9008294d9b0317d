namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// The benchmarked network run layer by layer on OpenBLAS: per layer the bias is copied into the output and
/// cblas_sgemv adds W x; ReLU and the output softmax are plain C# loops (what a hand-written BLAS caller would do).
/// Weights and activations live in unmanaged memory, so no call pins anything.
/// </summary>
internal sealed unsafe class BlasMlp : IDisposable
{
    private readonly int _inputs;
    private readonly int[] _outputs;
    private readonly bool[] _relu;
    private float* _memory;
    private readonly float*[] _w;
    private readonly float*[] _b;
    private readonly float* _a;
    private readonly float* _c;

    public BlasMlp(Network net)
    {
        var layers = net.Layers;
        _inputs = net.InputSize;
        _outputs = layers.Select(l => l.Outputs).ToArray();
        _relu = layers.Select(l => l.Activation.Kind == ActivationKind.Relu).ToArray();
        if (layers.Take(layers.Count - 1).Any(l => l.Activation.Kind != ActivationKind.Relu) || layers[^1].Activation.Kind != ActivationKind.Softmax)
            throw new NotSupportedException("BlasMlp runs ReLU hidden layers and a softmax output only.");
        long total = layers.Sum(l => (long)l.WeightCount + l.Outputs) + 2L * layers.Max(l => Math.Max(l.Inputs, l.Outputs));
        _memory = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(total * sizeof(float)), 64);
        _w = new float*[layers.Count];
        _b = new float*[layers.Count];
        float* p = _memory;
        for (int i = 0; i < layers.Count; i++)
        {
            _w[i] = p; net.Weights(i).CopyTo(new Span<float>(p, layers[i].WeightCount)); p += layers[i].WeightCount;
            _b[i] = p; net.Biases(i).CopyTo(new Span<float>(p, layers[i].Outputs)); p += layers[i].Outputs;
        }
        int widest = layers.Max(l => Math.Max(l.Inputs, l.Outputs));
        _a = p;
        _c = p + widest;
    }

    public void Predict(float[] input, float[] output)
    {
        float* cur = _a, next = _c;
        new ReadOnlySpan<float>(input).CopyTo(new Span<float>(cur, _inputs));
        int k = _inputs;
        for (int l = 0; l < _outputs.Length; l++)
        {
            int n = _outputs[l];
            new ReadOnlySpan<float>(_b[l], n).CopyTo(new Span<float>(next, n));
            OpenBlas.Sgemv(OpenBlas.RowMajor, OpenBlas.NoTrans, n, k, 1f, _w[l], k, cur, 1, 1f, next, 1);
            if (_relu[l])
                for (int j = 0; j < n; j++) next[j] = next[j] > 0f ? next[j] : 0f;
            float* t = cur; cur = next; next = t;
            k = n;
        }
        float max = float.NegativeInfinity;
        for (int j = 0; j < k; j++) max = Math.Max(max, cur[j]);
        float sum = 0;
        for (int j = 0; j < k; j++) sum += output[j] = MathF.Exp(cur[j] - max);
        float inv = 1f / sum;
        for (int j = 0; j < k; j++) output[j] *= inv;
    }

    public void Dispose()
    {
        if (_memory != null) System.Runtime.InteropServices.NativeMemory.AlignedFree(_memory);
        _memory = null;
    }
}
