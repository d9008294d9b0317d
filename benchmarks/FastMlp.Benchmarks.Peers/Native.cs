using System.Runtime.InteropServices;

namespace FastMlp.Benchmarks.Peers;

/// <summary>OpenBLAS (Debian libopenblas-dev) through P/Invoke: the CBLAS entry points the GEMM benchmarks use.</summary>
internal static unsafe partial class OpenBlas
{
    /// <summary>The library name the loader resolves (libopenblas.so.0 from libopenblas0-pthread).</summary>
    public const string Library = "libopenblas.so.0";

    public const int RowMajor = 101, NoTrans = 111, Trans = 112;

    [LibraryImport(Library, EntryPoint = "cblas_sgemm")]
    public static partial void Sgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library, EntryPoint = "cblas_sgemv")]
    public static partial void Sgemv(int order, int trans, int m, int n, float alpha, float* a, int lda,
        float* x, int incx, float beta, float* y, int incy);

    [LibraryImport(Library, EntryPoint = "openblas_set_num_threads")]
    public static partial void SetNumThreads(int threads);

    [LibraryImport(Library, EntryPoint = "openblas_get_config")]
    public static partial nint GetConfig();

    [LibraryImport(Library, EntryPoint = "openblas_get_corename")]
    public static partial nint GetCoreName();

    /// <summary>"OpenBLAS 0.3.21 ... (core Zen)", for the log.</summary>
    public static string Describe() =>
        $"{Marshal.PtrToStringAnsi(GetConfig())} (core {Marshal.PtrToStringAnsi(GetCoreName())})";
}

/// <summary>
/// FANN 2.2 (Debian libfann-dev, the float build libfloatfann) through P/Invoke: create a standard fully connected
/// network, set its weights, run one sample.
/// </summary>
internal static unsafe partial class FannNative
{
    public const string Library = "libfloatfann.so.2";

    /// <summary>enum fann_activationfunc_enum values used here.</summary>
    public const int Linear = 0, LinearPiece = 12;

    /// <summary>struct fann_connection.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Connection
    {
        public uint FromNeuron;
        public uint ToNeuron;
        public float Weight;
    }

    [LibraryImport(Library, EntryPoint = "fann_create_standard_array")]
    public static partial nint CreateStandardArray(uint numLayers, uint* layers);

    [LibraryImport(Library, EntryPoint = "fann_destroy")]
    public static partial void Destroy(nint ann);

    [LibraryImport(Library, EntryPoint = "fann_run")]
    public static partial float* Run(nint ann, float* input);

    [LibraryImport(Library, EntryPoint = "fann_get_total_connections")]
    public static partial uint GetTotalConnections(nint ann);

    [LibraryImport(Library, EntryPoint = "fann_get_connection_array")]
    public static partial void GetConnectionArray(nint ann, Connection* connections);

    [LibraryImport(Library, EntryPoint = "fann_set_weight_array")]
    public static partial void SetWeightArray(nint ann, Connection* connections, uint count);

    [LibraryImport(Library, EntryPoint = "fann_set_activation_function_layer")]
    public static partial void SetActivationFunctionLayer(nint ann, int function, int layer);

    [LibraryImport(Library, EntryPoint = "fann_set_activation_steepness_layer")]
    public static partial void SetActivationSteepnessLayer(nint ann, float steepness, int layer);
}

/// <summary>
/// A FANN network computing the same function as a FastMlp ReLU/softmax network. FANN 2.2 has neither ReLU nor
/// softmax: a hidden layer uses FANN_LINEAR_PIECE (clamp(s*u, 0, 1)) with a steepness s small enough that s*u stays
/// below 1 for the benchmarked input, which is s*ReLU(u); the next layer's weights are divided by s to undo the
/// scale. The output layer is FANN_LINEAR (the logits); softmax over them is applied in C#, inside the timed call.
/// </summary>
internal sealed unsafe class FannMlp : IDisposable
{
    private nint _ann;
    private readonly int _outputs;

    public FannMlp(Network net, ReadOnlySpan<float> input)
    {
        var layers = net.Layers;
        uint[] sizes = new uint[layers.Count + 1];
        sizes[0] = (uint)net.InputSize;
        for (int l = 0; l < layers.Count; l++) sizes[l + 1] = (uint)layers[l].Outputs;
        fixed (uint* p = sizes) _ann = FannNative.CreateStandardArray((uint)sizes.Length, p);
        if (_ann == 0) throw new InvalidOperationException("fann_create_standard_array returned NULL.");
        _outputs = net.OutputSize;

        // Steepness per hidden layer from the largest pre-activation of this input (FastMlp's own forward, layer by layer).
        float[] steep = new float[layers.Count];
        float[] a = input.ToArray();
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var w = net.Weights(l);
            var b = net.Biases(l);
            var u = new float[layer.Outputs];
            float max = 0;
            for (int o = 0; o < layer.Outputs; o++)
            {
                double s = b[o];
                for (int i = 0; i < layer.Inputs; i++) s += w[o, i] * a[i];
                u[o] = (float)s;
                max = Math.Max(max, Math.Abs(u[o]));
            }
            steep[l] = l == layers.Count - 1 ? 1f : 0.25f / Math.Max(max, 1e-3f);
            a = u.Select(v => Math.Max(v, 0f)).ToArray();
        }

        for (int l = 0; l < layers.Count; l++)
        {
            bool output = l == layers.Count - 1;
            FannNative.SetActivationFunctionLayer(_ann, output ? FannNative.Linear : FannNative.LinearPiece, l + 1);
            FannNative.SetActivationSteepnessLayer(_ann, steep[l], l + 1);
        }

        // Neurons are numbered across layers; every layer (input included) ends with a bias neuron.
        int[] first = new int[sizes.Length];
        for (int l = 1; l < sizes.Length; l++) first[l] = first[l - 1] + (int)sizes[l - 1] + 1;
        uint count = FannNative.GetTotalConnections(_ann);
        var connections = new FannNative.Connection[count];
        fixed (FannNative.Connection* c = connections)
        {
            FannNative.GetConnectionArray(_ann, c);
            for (int k = 0; k < count; k++)
            {
                int to = (int)c[k].ToNeuron, from = (int)c[k].FromNeuron;
                int l = 0; // weight layer index (0 = first dense layer): the layer of neuron `to`, minus one
                while (l + 2 < first.Length && first[l + 2] <= to) l++;
                int o = to - first[l + 1];
                int i = from - first[l];
                float scale = l == 0 ? 1f : 1f / steep[l - 1];
                c[k].Weight = i == (int)sizes[l] ? net.Biases(l)[o] : net.Weights(l)[o, i] * scale;
            }
            // fann_set_weight_array calls fann_set_weight per connection, which searches every connection: O(n^2),
            // hours for 1024-1024-1024-10. FANN 2.2's struct fann starts {int errno_f; FILE* error_log; char* errstr;
            // float learning_rate, learning_momentum, connection_rate; int network_type; fann_layer* first_layer,
            // last_layer; unsigned total_neurons, num_input, num_output; fann_type* weights; ...}, and
            // fann_get_connection_array lists the connections in the order of that weights array. The fields before
            // weights are checked against the network; when they match, the weights are written directly, otherwise
            // (another FANN build) through fann_set_weight_array. Either way Agreement checks the outputs.
            byte* ann = (byte*)_ann;
            int totalNeurons = first[^1] + (int)sizes[^1] + 1;
            if (*(uint*)(ann + 56) == (uint)totalNeurons && *(uint*)(ann + 60) == sizes[0] && *(uint*)(ann + 64) == sizes[^1])
            {
                float* weights = *(float**)(ann + 72);
                for (int k = 0; k < count; k++) weights[k] = c[k].Weight;
            }
            else
            {
                FannNative.SetWeightArray(_ann, c, count);
            }
        }
    }

    /// <summary>fann_run on one sample, then a softmax of the logits into <paramref name="output"/>.</summary>
    public void Predict(float[] input, float[] output)
    {
        float* y;
        fixed (float* x = input) y = FannNative.Run(_ann, x);
        float max = float.NegativeInfinity;
        for (int j = 0; j < _outputs; j++) max = Math.Max(max, y[j]);
        float sum = 0;
        for (int j = 0; j < _outputs; j++) sum += output[j] = MathF.Exp(y[j] - max);
        float inv = 1f / sum;
        for (int j = 0; j < _outputs; j++) output[j] *= inv;
    }

    public void Dispose()
    {
        if (_ann != 0) FannNative.Destroy(_ann);
        _ann = 0;
    }
}
