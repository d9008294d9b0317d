using FastMlp.Data;

namespace FastMlp.Optimization;

/// <summary>
/// Exact second derivatives of the full-batch objective of a small network, in float64: the loss, the gradient
/// and Hessian-vector products H v by forward-over-reverse differentiation (Pearlmutter's R-operator, 1994)
/// through the dense layers, and the whole Hessian as H e_k for every parameter k (K R-passes, the notes'
/// K^2 second derivatives). Vectors are indexed compactly: parameter k is <see cref="BufferIndex"/>[k] in the
/// flat buffer (padding skipped).
/// </summary>
/// <remarks>Supported: every differentiable element-wise activation with MSE, sigmoid with binary cross-entropy,
/// softmax with categorical cross-entropy (MSE on a softmax output is refused). Cost of the Hessian:
/// O(K^2 N) for K parameters and N rows, hence the <see cref="MaxParameters"/> limit.</remarks>
public sealed class ExactHessian
{
    /// <summary>Largest network (parameters) accepted: its Hessian has 4 M entries (32 MB) and a Cholesky of ~2.7 GFLOP.</summary>
    public const int MaxParameters = 2000;

    private readonly Network _net;
    private readonly DenseLayer[] _layers;
    private readonly Dataset _data;
    private readonly LossKind _loss;
    private readonly double _weightDecay;
    private readonly double _c;
    private readonly double[][] _u, _y, _delta, _ru, _ry, _rdelta;
    private readonly double[] _w;
    private readonly double[] _gy, _rgy;
    private readonly int[] _index;
    private readonly double[] _vBuffer, _hvBuffer;
    private readonly int[] _unitLayer, _unitOutput, _unitInput;
    private readonly double[][] _d1, _d2, _gys;

    /// <summary>Builds the evaluator for the objective's network, data, loss and weight decay.</summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxParameters"/> parameters, or MSE on a softmax output.</exception>
    public ExactHessian(Objective objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        _net = objective.Network;
        if (_net.ParameterCount > MaxParameters)
            throw new ArgumentException($"Newton's method with the exact Hessian is limited to {MaxParameters} parameters; this network has {_net.ParameterCount} (its Hessian would have {(long)_net.ParameterCount * _net.ParameterCount:N0} entries). Use L-BFGS or scaled conjugate gradient.", nameof(objective));
        _layers = _net.Layers.ToArray();
        if (objective.Loss == LossKind.MeanSquaredError && _layers[^1].Activation.Kind == ActivationKind.Softmax)
            throw new ArgumentException("The exact Hessian does not support MSE on a softmax output; use cross-entropy.", nameof(objective));
        _data = objective.Data;
        _loss = objective.Loss;
        _weightDecay = objective.WeightDecay;
        _c = Losses.Normalizer(_loss, _data.Count, _net.OutputSize);
        int depth = _layers.Length;
        _d1 = new double[depth][]; _d2 = new double[depth][]; _gys = new double[depth][];
        _u = new double[depth][]; _y = new double[depth + 1][]; _delta = new double[depth][];
        _ru = new double[depth][]; _ry = new double[depth + 1][]; _rdelta = new double[depth][];
        _y[0] = new double[_net.InputSize]; _ry[0] = new double[_net.InputSize];
        for (int m = 0; m < depth; m++)
        {
            int o = _layers[m].Outputs;
            _u[m] = new double[o]; _y[m + 1] = new double[o]; _delta[m] = new double[o];
            _d1[m] = new double[o]; _d2[m] = new double[o]; _gys[m] = new double[o];
            _ru[m] = new double[o]; _ry[m + 1] = new double[o]; _rdelta[m] = new double[o];
        }
        _w = new double[_net.BufferLength];
        _gy = new double[_net.MaxWidth]; _rgy = new double[_net.MaxWidth];
        _index = new int[_net.ParameterCount];
        _unitLayer = new int[_index.Length]; _unitOutput = new int[_index.Length]; _unitInput = new int[_index.Length];
        int k = 0;
        for (int m = 0; m < _layers.Length; m++)
        {
            DenseLayer l = _layers[m];
            for (int i = 0; i < l.WeightCount; i++) { _unitLayer[k] = m; _unitOutput[k] = i / l.Inputs; _unitInput[k] = i % l.Inputs; _index[k++] = l.WeightOffset + i; }
            for (int i = 0; i < l.Outputs; i++) { _unitLayer[k] = m; _unitOutput[k] = i; _unitInput[k] = -1; _index[k++] = l.BiasOffset + i; }
        }
        _vBuffer = new double[_net.BufferLength];
        _hvBuffer = new double[_net.BufferLength];
    }

    /// <summary>Number of parameters K (length of compact vectors).</summary>
    public int Count => _index.Length;
    /// <summary>Position in the flat buffer of compact parameter k.</summary>
    public ReadOnlySpan<int> BufferIndex => _index;

    /// <summary>Copies the network's parameters into <paramref name="x"/> (compact, length <see cref="Count"/>).</summary>
    public void GetPoint(Span<double> x)
    {
        ReadOnlySpan<float> p = _net.Parameters;
        for (int k = 0; k < _index.Length; k++) x[k] = p[_index[k]];
    }

    /// <summary>Writes compact <paramref name="x"/> into the network's parameters (rounded to float).</summary>
    public void SetPoint(ReadOnlySpan<double> x)
    {
        Span<float> p = _net.Parameters;
        for (int k = 0; k < _index.Length; k++) p[_index[k]] = (float)x[k];
    }

    /// <summary>J at the network's parameters, in float64.</summary>
    public double Loss()
    {
        LoadWeights();
        double sum = 0;
        for (int r = 0; r < _data.Count; r++) sum += Forward(r);
        return sum * _c + Penalty();
    }

    /// <summary>J and the compact gradient at the network's parameters, in float64.</summary>
    public double Gradient(Span<double> gradient)
    {
        LoadWeights();
        Array.Clear(_hvBuffer);
        double sum = 0;
        for (int r = 0; r < _data.Count; r++)
        {
            sum += Forward(r);
            Backward(r, _hvBuffer);
        }
        AddDecayGradient(_hvBuffer);
        for (int k = 0; k < _index.Length; k++) gradient[k] = _hvBuffer[_index[k]];
        return sum * _c + Penalty();
    }

    /// <summary>H v at the network's parameters (compact vectors of length <see cref="Count"/>).</summary>
    public void HessianVectorProduct(ReadOnlySpan<double> v, Span<double> hv)
    {
        LoadWeights();
        Array.Clear(_vBuffer);
        for (int k = 0; k < _index.Length; k++) _vBuffer[_index[k]] = v[k];
        Array.Clear(_hvBuffer);
        for (int r = 0; r < _data.Count; r++)
        {
            Forward(r);
            Backward(r, null);
            RPass(_vBuffer, _hvBuffer);
        }
        for (int k = 0; k < _index.Length; k++)
        {
            int b = _index[k];
            hv[k] = _hvBuffer[b] + (IsWeight(b) ? _weightDecay * _vBuffer[b] : 0);
        }
    }

    /// <summary>
    /// J, the gradient and the full Hessian (row-major K x K, symmetrised) at the network's parameters. One forward and
    /// backward pass per row, then one R-pass per row and parameter.
    /// </summary>
    public double Compute(Span<double> gradient, Span<double> hessian)
    {
        int n = _index.Length;
        if (gradient.Length < n || hessian.Length < n * n)
            throw new ArgumentException($"The gradient needs {n} entries and the Hessian {n * n}.");
        LoadWeights();
        hessian.Slice(0, n * n).Clear();
        double[] grad = new double[_net.BufferLength];
        double[] column = _hvBuffer;
        double sum = 0;
        for (int r = 0; r < _data.Count; r++)
        {
            sum += Forward(r);
            Backward(r, grad);
            for (int k = 0; k < n; k++)
            {
                Array.Clear(column);
                RPassUnit(_unitLayer[k], _unitOutput[k], _unitInput[k], column);
                Span<double> row = hessian.Slice(k * n, n);
                for (int j = 0; j < n; j++) row[j] += column[_index[j]];
            }
        }
        for (int k = 0; k < n; k++)
        {
            for (int j = k + 1; j < n; j++)
            {
                double avg = 0.5 * (hessian[k * n + j] + hessian[j * n + k]);
                hessian[k * n + j] = avg; hessian[j * n + k] = avg;
            }
            if (IsWeight(_index[k])) hessian[k * n + k] += _weightDecay;
        }
        AddDecayGradient(grad);
        for (int k = 0; k < n; k++) gradient[k] = grad[_index[k]];
        return sum * _c + Penalty();
    }

    private bool IsWeight(int bufferIndex)
    {
        foreach (DenseLayer l in _layers)
            if (bufferIndex >= l.WeightOffset && bufferIndex < l.WeightOffset + l.WeightCount) return true;
        return false;
    }

    private void LoadWeights()
    {
        ReadOnlySpan<float> p = _net.Parameters;
        for (int i = 0; i < p.Length; i++) _w[i] = p[i];
    }

    private double Penalty()
    {
        if (_weightDecay == 0) return 0;
        double s = 0;
        foreach (DenseLayer l in _layers)
            for (int i = 0; i < l.WeightCount; i++) s += _w[l.WeightOffset + i] * _w[l.WeightOffset + i];
        return 0.5 * _weightDecay * s;
    }

    private void AddDecayGradient(double[] grad)
    {
        if (_weightDecay == 0) return;
        foreach (DenseLayer l in _layers)
            for (int i = 0; i < l.WeightCount; i++) grad[l.WeightOffset + i] += _weightDecay * _w[l.WeightOffset + i];
    }

    private double Target(int row, int j)
    {
        int width = _net.OutputSize;
        if (_data.IsClassification)
        {
            int label = _data.Labels[row];
            return width == 1 ? label : (label == j ? 1 : 0);
        }
        return _data.Targets[row, j];
    }

    /// <summary>Forward pass of one row in float64; fills u, y and the output sensitivity; returns the row's summed loss.</summary>
    private double Forward(int row)
    {
        _currentRow = row;
        ReadOnlySpan<float> x = _data.Row(row);
        for (int i = 0; i < x.Length; i++) _y[0][i] = x[i];
        for (int m = 0; m < _layers.Length; m++)
        {
            DenseLayer l = _layers[m];
            double[] input = _y[m], u = _u[m], y = _y[m + 1];
            for (int o = 0; o < l.Outputs; o++)
            {
                double s = _w[l.BiasOffset + o];
                int w0 = l.WeightOffset + o * l.Inputs;
                for (int i = 0; i < l.Inputs; i++) s += _w[w0 + i] * input[i];
                u[o] = s;
            }
            if (l.Activation.Kind == ActivationKind.Softmax)
            {
                double max = u.Max(), z = 0;
                for (int o = 0; o < u.Length; o++) { y[o] = Math.Exp(u[o] - max); z += y[o]; }
                for (int o = 0; o < u.Length; o++) y[o] /= z;
            }
            else
            {
                for (int o = 0; o < u.Length; o++)
                {
                    y[o] = F(l.Activation, u[o]);
                    _d1[m][o] = D1(l.Activation, u[o]);
                    _d2[m][o] = D2(l.Activation, u[o]);
                }
            }
        }
        DenseLayer last = _layers[^1];
        double[] uo = _u[^1], yo = _y[^1], d = _delta[^1];
        double loss = 0;
        for (int j = 0; j < last.Outputs; j++)
        {
            double t = Target(row, j);
            switch (_loss)
            {
                case LossKind.CategoricalCrossEntropy:
                    if (t != 0) loss -= t * Math.Log(Math.Max(yo[j], 1e-300));
                    d[j] = _c * (yo[j] - t);
                    break;
                case LossKind.BinaryCrossEntropy:
                    // -[t ln s(u) + (1 - t) ln(1 - s(u))] = softplus(u) - t u, stable form.
                    loss += Math.Max(uo[j], 0) + Math.Log(1 + Math.Exp(-Math.Abs(uo[j]))) - t * uo[j];
                    d[j] = _c * (yo[j] - t);
                    break;
                default:
                    double e = yo[j] - t;
                    loss += e * e;
                    d[j] = _c * 2 * e * D1(last.Activation, uo[j]);
                    break;
            }
        }
        return loss;
    }

    /// <summary>Back-propagates the sensitivities of the row; adds the gradient into <paramref name="grad"/> (buffer layout) when given.</summary>
    private void Backward(int row, double[]? grad)
    {
        for (int m = _layers.Length - 1; m >= 0; m--)
        {
            DenseLayer l = _layers[m];
            double[] delta = _delta[m], input = _y[m];
            if (grad is not null)
            {
                for (int o = 0; o < l.Outputs; o++)
                {
                    double dv = delta[o];
                    grad[l.BiasOffset + o] += dv;
                    int w0 = l.WeightOffset + o * l.Inputs;
                    for (int i = 0; i < l.Inputs; i++) grad[w0 + i] += dv * input[i];
                }
            }
            if (m == 0) break;
            double[] below = _delta[m - 1], ub = _u[m - 1];
            Activation fb = _layers[m - 1].Activation;
            for (int i = 0; i < l.Inputs; i++)
            {
                double s = 0;
                for (int o = 0; o < l.Outputs; o++) s += _w[l.WeightOffset + o * l.Inputs + i] * delta[o];
                _gys[m - 1][i] = s;
                below[i] = D1(fb, ub[i]) * s;
            }
        }
    }

    /// <summary>R-pass of the current row along <paramref name="v"/> (buffer layout): adds the row's H v into <paramref name="hv"/>.</summary>
    private void RPass(double[] v, double[] hv)
    {
        Array.Clear(_ry[0]);
        for (int m = 0; m < _layers.Length; m++)
        {
            DenseLayer l = _layers[m];
            double[] input = _y[m], rin = _ry[m], u = _u[m], ru = _ru[m], ry = _ry[m + 1], y = _y[m + 1];
            for (int o = 0; o < l.Outputs; o++)
            {
                double s = v[l.BiasOffset + o];
                int w0 = l.WeightOffset + o * l.Inputs;
                for (int i = 0; i < l.Inputs; i++) s += v[w0 + i] * input[i] + _w[w0 + i] * rin[i];
                ru[o] = s;
            }
            if (l.Activation.Kind == ActivationKind.Softmax)
            {
                double dot = 0;
                for (int o = 0; o < l.Outputs; o++) dot += y[o] * ru[o];
                for (int o = 0; o < l.Outputs; o++) ry[o] = y[o] * (ru[o] - dot);
            }
            else
            {
                for (int o = 0; o < l.Outputs; o++) ry[o] = D1(l.Activation, u[o]) * ru[o];
            }
        }
        OutputRDelta();
        for (int m = _layers.Length - 1; m >= 0; m--)
        {
            DenseLayer l = _layers[m];
            double[] delta = _delta[m], rdelta = _rdelta[m], input = _y[m], rin = _ry[m];
            for (int o = 0; o < l.Outputs; o++)
            {
                hv[l.BiasOffset + o] += rdelta[o];
                int w0 = l.WeightOffset + o * l.Inputs;
                double dv = delta[o], rdv = rdelta[o];
                for (int i = 0; i < l.Inputs; i++) hv[w0 + i] += rdv * input[i] + dv * rin[i];
            }
            if (m == 0) break;
            double[] below = _rdelta[m - 1], ub = _u[m - 1], rub = _ru[m - 1];
            Activation fb = _layers[m - 1].Activation;
            for (int i = 0; i < l.Inputs; i++)
            {
                double gy = 0, rgy = 0;
                for (int o = 0; o < l.Outputs; o++)
                {
                    int w = l.WeightOffset + o * l.Inputs + i;
                    gy += _w[w] * delta[o];
                    rgy += v[w] * delta[o] + _w[w] * rdelta[o];
                }
                below[i] = D2(fb, ub[i]) * rub[i] * gy + D1(fb, ub[i]) * rgy;
            }
        }
    }

    /// <summary>
    /// R-pass along the unit vector of one parameter (weight (o, i) of layer L, or bias o when i &lt; 0): the R-forward is
    /// zero below layer L and has a single source term at L, so only the layers above L are run forward.
    /// </summary>
    private void RPassUnit(int layer, int unitOut, int unitIn, double[] hv)
    {
        for (int m = 0; m <= layer; m++) Array.Clear(_ry[m]);
        for (int m = layer; m < _layers.Length; m++)
        {
            DenseLayer l = _layers[m];
            double[] rin = _ry[m], u = _u[m], ru = _ru[m], ry = _ry[m + 1], y = _y[m + 1];
            if (m == layer)
            {
                Array.Clear(ru);
                ru[unitOut] = unitIn < 0 ? 1 : _y[m][unitIn];
            }
            else
            {
                for (int o = 0; o < l.Outputs; o++)
                {
                    double s = 0;
                    int w0 = l.WeightOffset + o * l.Inputs;
                    for (int i = 0; i < l.Inputs; i++) s += _w[w0 + i] * rin[i];
                    ru[o] = s;
                }
            }
            if (l.Activation.Kind == ActivationKind.Softmax)
            {
                double dot = 0;
                for (int o = 0; o < l.Outputs; o++) dot += y[o] * ru[o];
                for (int o = 0; o < l.Outputs; o++) ry[o] = y[o] * (ru[o] - dot);
            }
            else
            {
                double[] d1 = _d1[m];
                for (int o = 0; o < l.Outputs; o++) ry[o] = d1[o] * ru[o];
            }
        }
        OutputRDelta();
        for (int m = _layers.Length - 1; m >= 0; m--)
        {
            DenseLayer l = _layers[m];
            double[] delta = _delta[m], rdelta = _rdelta[m], input = _y[m], rin = _ry[m];
            bool rinZero = m <= layer;
            for (int o = 0; o < l.Outputs; o++)
            {
                hv[l.BiasOffset + o] += rdelta[o];
                int w0 = l.WeightOffset + o * l.Inputs;
                double rdv = rdelta[o];
                if (rinZero)
                    for (int i = 0; i < l.Inputs; i++) hv[w0 + i] += rdv * input[i];
                else
                {
                    double dv = delta[o];
                    for (int i = 0; i < l.Inputs; i++) hv[w0 + i] += rdv * input[i] + dv * rin[i];
                }
            }
            if (m == 0) break;
            double[] below = _rdelta[m - 1], rub = _ru[m - 1];
            for (int i = 0; i < l.Inputs; i++)
            {
                double rgy = 0;
                for (int o = 0, w = l.WeightOffset + i; o < l.Outputs; o++, w += l.Inputs)
                    rgy += _w[w] * rdelta[o];
                if (m == layer && unitIn == i) rgy += delta[unitOut];
                double d2 = m - 1 < layer ? 0 : _d2[m - 1][i] * rub[i] * _gys[m - 1][i];
                below[i] = d2 + _d1[m - 1][i] * rgy;
            }
        }
    }

    private void OutputRDelta()
    {
        DenseLayer last = _layers[^1];
        double[] rd = _rdelta[^1], ryo = _ry[^1], ruo = _ru[^1], uo = _u[^1], yo = _y[^1];
        for (int j = 0; j < last.Outputs; j++)
        {
            if (_loss != LossKind.MeanSquaredError) rd[j] = _c * ryo[j];
            else
            {
                double d1 = D1(last.Activation, uo[j]);
                // delta = 2c (y - t) f'(u): R delta = 2c (f'(u)^2 + (y - t) f''(u)) Ru.
                double e = yo[j] - CurrentTarget(j);
                rd[j] = _c * 2 * (d1 * d1 + e * D2(last.Activation, uo[j])) * ruo[j];
            }
        }
    }

    private int _currentRow;
    private double CurrentTarget(int j) => Target(_currentRow, j);

    private static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    private static double F(Activation a, double u) => a.Kind switch
    {
        ActivationKind.Identity => u,
        ActivationKind.Sigmoid => Sigmoid(u),
        ActivationKind.Tanh => Math.Tanh(u),
        ActivationKind.Relu => u > 0 ? u : 0,
        ActivationKind.LeakyRelu => u > 0 ? u : a.Parameter * u,
        ActivationKind.Elu => u > 0 ? u : a.Parameter * (Math.Exp(u) - 1),
        ActivationKind.Softplus => Math.Max(u, 0) + Math.Log(1 + Math.Exp(-Math.Abs(u))),
        _ => throw new ArgumentException($"The exact Hessian does not support {a}."),
    };

    private static double D1(Activation a, double u)
    {
        switch (a.Kind)
        {
            case ActivationKind.Identity: return 1;
            case ActivationKind.Sigmoid: { double s = Sigmoid(u); return s * (1 - s); }
            case ActivationKind.Tanh: { double t = Math.Tanh(u); return 1 - t * t; }
            case ActivationKind.Relu: return u > 0 ? 1 : 0;
            case ActivationKind.LeakyRelu: return u > 0 ? 1 : a.Parameter;
            case ActivationKind.Elu: return u > 0 ? 1 : a.Parameter * Math.Exp(u);
            case ActivationKind.Softplus: return Sigmoid(u);
            default: throw new ArgumentException($"The exact Hessian does not support {a}.");
        }
    }

    private static double D2(Activation a, double u)
    {
        switch (a.Kind)
        {
            case ActivationKind.Sigmoid: { double s = Sigmoid(u); return s * (1 - s) * (1 - 2 * s); }
            case ActivationKind.Tanh: { double t = Math.Tanh(u); return -2 * t * (1 - t * t); }
            case ActivationKind.Elu: return u > 0 ? 0 : a.Parameter * Math.Exp(u);
            case ActivationKind.Softplus: { double s = Sigmoid(u); return s * (1 - s); }
            default: return 0;
        }
    }
}
