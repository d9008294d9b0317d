namespace FastMlp;

/// <summary>The activation functions a layer can apply to its pre-activations u = W y + b.</summary>
public enum ActivationKind
{
    /// <summary>f(z) = z.</summary>
    Identity,
    /// <summary>Unit step, 1 if z &gt;= 0 else 0. No useful derivative: inference and the perceptron rule only.</summary>
    Step,
    /// <summary>Bipolar step, +1 if z &gt;= 0 else -1. No useful derivative: inference and the perceptron rule only.</summary>
    BipolarStep,
    /// <summary>Logistic sigmoid 1 / (1 + e^-z), f' = f (1 - f).</summary>
    Sigmoid,
    /// <summary>Hyperbolic tangent, f' = 1 - f^2.</summary>
    Tanh,
    /// <summary>max(0, z).</summary>
    Relu,
    /// <summary>max(a z, z) with slope a in [0, 1) (the notes use 0.1).</summary>
    LeakyRelu,
    /// <summary>z if z &gt; 0 else a (e^z - 1), a &gt; 0.</summary>
    Elu,
    /// <summary>ln(1 + e^z), f' = sigmoid(z).</summary>
    Softplus,
    /// <summary>Row-wise e^z_j / sum_k e^z_k. Output layer only.</summary>
    Softmax,
}

/// <summary>
/// An activation function and its parameter (the slope of leaky ReLU, the alpha of ELU).
/// Every kind is numerically safe for large |z|: no NaN comes out of exp overflow. NaN in gives NaN out.
/// </summary>
public readonly record struct Activation
{
    /// <summary>Creates an activation; <paramref name="parameter"/> is used by LeakyRelu (slope) and Elu (alpha).</summary>
    public Activation(ActivationKind kind, float parameter = 0f)
    {
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation kind.");
        if (kind == ActivationKind.LeakyRelu && !(parameter >= 0f && parameter < 1f))
            throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "The leaky ReLU slope must be in [0, 1).");
        if (kind == ActivationKind.Elu && !(parameter > 0f && float.IsFinite(parameter)))
            throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "The ELU alpha must be a positive finite number.");
        Kind = kind;
        Parameter = kind is ActivationKind.LeakyRelu or ActivationKind.Elu ? parameter : 0f;
    }

    /// <summary>The function.</summary>
    public ActivationKind Kind { get; }

    /// <summary>Slope (leaky ReLU) or alpha (ELU); 0 for the other kinds.</summary>
    public float Parameter { get; }

    /// <summary>True when the function has a derivative that gradient training can use.</summary>
    public bool IsDifferentiable => Kind is not (ActivationKind.Step or ActivationKind.BipolarStep);

    /// <summary>f(z) = z.</summary>
    public static Activation Identity => new(ActivationKind.Identity);
    /// <summary>0/1 unit step.</summary>
    public static Activation Step => new(ActivationKind.Step);
    /// <summary>-1/+1 bipolar step.</summary>
    public static Activation BipolarStep => new(ActivationKind.BipolarStep);
    /// <summary>Logistic sigmoid.</summary>
    public static Activation Sigmoid => new(ActivationKind.Sigmoid);
    /// <summary>Hyperbolic tangent.</summary>
    public static Activation Tanh => new(ActivationKind.Tanh);
    /// <summary>Rectified linear unit.</summary>
    public static Activation Relu => new(ActivationKind.Relu);
    /// <summary>Softplus ln(1 + e^z).</summary>
    public static Activation Softplus => new(ActivationKind.Softplus);
    /// <summary>Softmax over the outputs of a sample (output layer only).</summary>
    public static Activation Softmax => new(ActivationKind.Softmax);
    /// <summary>Leaky ReLU max(slope z, z); the notes' default slope is 0.1.</summary>
    public static Activation LeakyRelu(float slope = 0.1f) => new(ActivationKind.LeakyRelu, slope);
    /// <summary>ELU: z if z &gt; 0 else alpha (e^z - 1).</summary>
    public static Activation Elu(float alpha = 1f) => new(ActivationKind.Elu, alpha);

    /// <summary>Parses a name such as "relu", "leakyrelu", "leaky-relu:0.2" or "elu:1.5" (case-insensitive).</summary>
    public static Activation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(':', 2);
        string name = parts[0].Replace("-", "").Replace("_", "").Trim().ToLowerInvariant();
        float? p = null;
        if (parts.Length == 2)
        {
            if (!float.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v))
                throw new ArgumentException($"Activation '{text}': parameter '{parts[1]}' is not a number.", nameof(text));
            p = v;
        }
        return name switch
        {
            "identity" or "linear" => Identity,
            "step" => Step,
            "bipolarstep" or "sign" => BipolarStep,
            "sigmoid" or "logistic" => Sigmoid,
            "tanh" => Tanh,
            "relu" => Relu,
            "leakyrelu" => LeakyRelu(p ?? 0.1f),
            "elu" => Elu(p ?? 1f),
            "softplus" => Softplus,
            "softmax" => Softmax,
            _ => throw new ArgumentException($"Unknown activation '{text}' (expected identity, step, bipolarstep, sigmoid, tanh, relu, leakyrelu[:slope], elu[:alpha], softplus or softmax).", nameof(text)),
        };
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        ActivationKind.LeakyRelu or ActivationKind.Elu => $"{Kind.ToString().ToLowerInvariant()}:{Parameter.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
