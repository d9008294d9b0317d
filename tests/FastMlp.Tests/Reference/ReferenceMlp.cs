using FastMlp;

namespace FastMlp.Tests.Reference;

/// <summary>
/// An independent float64 MLP used as the oracle of the tests. It shares nothing with the engine's
/// kernels: it only reads the engine's architecture (sizes, activations, offsets of W and b in the flat
/// buffer) and evaluates u = W y + b, y = f(u) and the losses in double, straight from their definitions.
/// </summary>
/// <remarks>
/// Losses (N rows, M outputs): MSE J = 1/(N M) sum (d - y)^2; BCE J = -1/(N M) sum [d ln y + (1 - d) ln(1 - y)]
/// with a sigmoid output; CE J = -1/N sum d ln y with a softmax output; plus (lambda/2) sum W^2 over the
/// weights only (never biases).
/// </remarks>
public sealed class ReferenceMlp
{
    private readonly (int Inputs, int Outputs, Activation Activation, int WeightOffset, int BiasOffset)[] _layers;

    /// <summary>Copies the architecture and the current parameters of <paramref name="net"/>.</summary>
    public ReferenceMlp(Network net)
    {
        _layers = net.Layers.Select(l => (l.Inputs, l.Outputs, l.Activation, l.WeightOffset, l.BiasOffset)).ToArray();
        InputSize = net.InputSize;
        OutputSize = net.OutputSize;
        Parameters = new double[net.BufferLength];
        ReadOnlySpan<float> p = net.Parameters;
        for (int i = 0; i < p.Length; i++) Parameters[i] = p[i];
    }

    public int InputSize { get; }
    public int OutputSize { get; }
    public int LayerCount => _layers.Length;

    /// <summary>The parameters in the engine's flat layout, in double (perturbed in place by the finite differences).</summary>
    public double[] Parameters { get; }

    /// <summary>Indices into <see cref="Parameters"/> that hold a real weight or bias (alignment padding excluded).</summary>
    public IEnumerable<int> ParameterIndices()
    {
        foreach (var l in _layers)
        {
            for (int i = 0; i < l.Inputs * l.Outputs; i++) yield return l.WeightOffset + i;
            for (int o = 0; o < l.Outputs; o++) yield return l.BiasOffset + o;
        }
    }

    /// <summary>True when index <paramref name="index"/> of the buffer is a weight (not a bias, not padding).</summary>
    public bool IsWeight(int index) => _layers.Any(l => index >= l.WeightOffset && index < l.WeightOffset + l.Inputs * l.Outputs);

    /// <summary>Scalar activation value in double.</summary>
    public static double Apply(Activation a, double z) => a.Kind switch
    {
        ActivationKind.Identity => z,
        ActivationKind.Step => double.IsNaN(z) ? z : z >= 0 ? 1 : 0,
        ActivationKind.BipolarStep => double.IsNaN(z) ? z : z >= 0 ? 1 : -1,
        ActivationKind.Sigmoid => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z)),
        ActivationKind.Tanh => Math.Tanh(z),
        ActivationKind.Relu => double.IsNaN(z) ? z : z > 0 ? z : 0,
        ActivationKind.LeakyRelu => z > 0 ? z : a.Parameter * z,
        ActivationKind.Elu => z > 0 ? z : a.Parameter * (Math.Exp(z) - 1),
        ActivationKind.Softplus => double.IsNaN(z) ? z : Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z))),
        _ => throw new ArgumentException($"{a} is not element-wise"),
    };

    /// <summary>Row softmax in double (max-shifted).</summary>
    public static double[] Softmax(ReadOnlySpan<double> u)
    {
        double max = double.NegativeInfinity;
        foreach (double v in u) max = Math.Max(max, v);
        var y = new double[u.Length];
        double s = 0;
        for (int j = 0; j < u.Length; j++) { y[j] = Math.Exp(u[j] - max); s += y[j]; }
        for (int j = 0; j < u.Length; j++) y[j] /= s;
        return y;
    }

    /// <summary>
    /// Forward pass of a [rows x InputSize] batch. Returns the output of every layer (index m = layer m), and
    /// the pre-activations u of every layer in <paramref name="preActivations"/>.
    /// </summary>
    public double[][] Forward(ReadOnlySpan<float> x, int rows, out double[][] preActivations)
    {
        double[] p = Parameters;
        var ys = new double[_layers.Length][];
        preActivations = new double[_layers.Length][];
        double[] current = new double[x.Length];
        for (int i = 0; i < x.Length; i++) current[i] = x[i];
        for (int m = 0; m < _layers.Length; m++)
        {
            var l = _layers[m];
            var u = new double[rows * l.Outputs];
            var y = new double[rows * l.Outputs];
            for (int r = 0; r < rows; r++)
            {
                for (int o = 0; o < l.Outputs; o++)
                {
                    double s = p[l.BiasOffset + o];
                    for (int i = 0; i < l.Inputs; i++)
                        s += p[l.WeightOffset + o * l.Inputs + i] * current[r * l.Inputs + i];
                    u[r * l.Outputs + o] = s;
                }
                if (l.Activation.Kind == ActivationKind.Softmax)
                    Softmax(u.AsSpan(r * l.Outputs, l.Outputs)).CopyTo(y, r * l.Outputs);
                else
                    for (int o = 0; o < l.Outputs; o++) y[r * l.Outputs + o] = Apply(l.Activation, u[r * l.Outputs + o]);
            }
            preActivations[m] = u;
            ys[m] = y;
            current = y;
        }
        return ys;
    }

    /// <summary>Network output only.</summary>
    public double[] Output(ReadOnlySpan<float> x, int rows) => Forward(x, rows, out _)[^1];

    /// <summary>The loss J (plus the L2 term) of a batch with dense targets [rows x OutputSize].</summary>
    public double Loss(ReadOnlySpan<float> x, ReadOnlySpan<float> targets, int rows, LossKind loss, double lambda = 0)
    {
        double[][] ys = Forward(x, rows, out double[][] us);
        double[] y = ys[^1];
        double[] u = us[^1];
        int m = OutputSize;
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            switch (loss)
            {
                case LossKind.MeanSquaredError:
                    for (int j = 0; j < m; j++) { double e = targets[r * m + j] - y[r * m + j]; sum += e * e; }
                    break;
                case LossKind.BinaryCrossEntropy:
                    for (int j = 0; j < m; j++)
                    {
                        // ln sigmoid(u) = -softplus(-u), ln(1 - sigmoid(u)) = -softplus(u): exact and finite for any u.
                        double z = u[r * m + j], d = targets[r * m + j];
                        double lnY = -SoftplusD(-z), ln1mY = -SoftplusD(z);
                        sum -= d * lnY + (1 - d) * ln1mY;
                    }
                    break;
                case LossKind.CategoricalCrossEntropy:
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < m; j++) max = Math.Max(max, u[r * m + j]);
                    double s = 0;
                    for (int j = 0; j < m; j++) s += Math.Exp(u[r * m + j] - max);
                    double lse = max + Math.Log(s);
                    for (int j = 0; j < m; j++) sum -= targets[r * m + j] * (u[r * m + j] - lse);
                    break;
                }
                default: throw new ArgumentOutOfRangeException(nameof(loss));
            }
        }
        double j0 = loss == LossKind.CategoricalCrossEntropy ? sum / rows : sum / ((double)rows * m);
        return j0 + 0.5 * lambda * WeightSumOfSquares();
    }

    /// <summary>sum of W^2 over all weights (biases excluded).</summary>
    public double WeightSumOfSquares()
    {
        double s = 0;
        foreach (var l in _layers)
            for (int i = 0; i < l.Inputs * l.Outputs; i++) { double w = Parameters[l.WeightOffset + i]; s += w * w; }
        return s;
    }

    /// <summary>
    /// Central finite differences (J(p + h) - J(p - h)) / 2h over every real parameter, in double; padding entries stay 0.
    /// </summary>
    public double[] NumericGradient(ReadOnlySpan<float> x, ReadOnlySpan<float> targets, int rows, LossKind loss, double lambda = 0, double h = 1e-5)
    {
        var g = new double[Parameters.Length];
        foreach (int k in ParameterIndices())
        {
            double saved = Parameters[k];
            Parameters[k] = saved + h;
            double plus = Loss(x, targets, rows, loss, lambda);
            Parameters[k] = saved - h;
            double minus = Loss(x, targets, rows, loss, lambda);
            Parameters[k] = saved;
            g[k] = (plus - minus) / (2 * h);
        }
        return g;
    }

    /// <summary>Smallest |u| over the pre-activations of the layers whose activation has a kink at 0.</summary>
    public double SmallestKinkDistance(ReadOnlySpan<float> x, int rows)
    {
        Forward(x, rows, out double[][] us);
        double min = double.PositiveInfinity;
        for (int m = 0; m < _layers.Length; m++)
        {
            if (!HasKink(_layers[m].Activation)) continue;
            foreach (double u in us[m]) min = Math.Min(min, Math.Abs(u));
        }
        return min;
    }

    /// <summary>ReLU, leaky ReLU and ELU (whose second derivative jumps, and first too when alpha != 1) are not smooth at 0.</summary>
    public static bool HasKink(Activation a) => a.Kind is ActivationKind.Relu or ActivationKind.LeakyRelu or ActivationKind.Elu;

    private static double SoftplusD(double z) => Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));

    /// <summary>One-hot (or, for one output, the label value itself) dense targets from labels.</summary>
    public static float[] DenseFromLabels(ReadOnlySpan<int> labels, int outputs)
    {
        var t = new float[labels.Length * outputs];
        for (int r = 0; r < labels.Length; r++)
        {
            if (outputs == 1) t[r] = labels[r];
            else t[r * outputs + labels[r]] = 1f;
        }
        return t;
    }
}
