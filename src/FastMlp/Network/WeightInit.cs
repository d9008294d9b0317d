namespace FastMlp;

/// <summary>How the weights of a network are drawn. Biases always start at zero.</summary>
public enum WeightInitKind
{
    /// <summary>Normal(0, std^2) with the given standard deviation (the notes' example).</summary>
    Normal,
    /// <summary>Glorot/Xavier uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).</summary>
    GlorotUniform,
    /// <summary>Glorot/Xavier normal: std = sqrt(2 / (fan_in + fan_out)).</summary>
    GlorotNormal,
    /// <summary>He (Kaiming) normal: std = sqrt(2 / fan_in), for ReLU-family layers.</summary>
    HeNormal,
    /// <summary>He (Kaiming) uniform: U(-l, l), l = sqrt(6 / fan_in).</summary>
    HeUniform,
}

/// <summary>A weight initialisation scheme (and the standard deviation for <see cref="WeightInitKind.Normal"/>).</summary>
public readonly record struct WeightInit
{
    /// <summary>Creates a scheme; <paramref name="std"/> is used only by <see cref="WeightInitKind.Normal"/>.</summary>
    public WeightInit(WeightInitKind kind, float std = 0.1f)
    {
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown initialisation kind.");
        if (kind == WeightInitKind.Normal && !(std > 0f && float.IsFinite(std)))
            throw new ArgumentOutOfRangeException(nameof(std), std, "The standard deviation must be a positive finite number.");
        Kind = kind;
        Std = std;
    }

    /// <summary>The scheme.</summary>
    public WeightInitKind Kind { get; }
    /// <summary>Standard deviation used by <see cref="WeightInitKind.Normal"/>.</summary>
    public float Std { get; }

    /// <summary>Normal(0, std^2).</summary>
    public static WeightInit Normal(float std) => new(WeightInitKind.Normal, std);
    /// <summary>Glorot/Xavier uniform.</summary>
    public static WeightInit GlorotUniform => new(WeightInitKind.GlorotUniform);
    /// <summary>Glorot/Xavier normal.</summary>
    public static WeightInit GlorotNormal => new(WeightInitKind.GlorotNormal);
    /// <summary>He normal.</summary>
    public static WeightInit HeNormal => new(WeightInitKind.HeNormal);
    /// <summary>He uniform.</summary>
    public static WeightInit HeUniform => new(WeightInitKind.HeUniform);

    /// <summary>He for ReLU-family layers, Glorot otherwise: the usual default.</summary>
    public static WeightInit DefaultFor(Activation activation) =>
        activation.Kind is ActivationKind.Relu or ActivationKind.LeakyRelu or ActivationKind.Elu ? HeNormal : GlorotUniform;

    internal void Fill(Span<float> weights, int fanIn, int fanOut, Random random)
    {
        switch (Kind)
        {
            case WeightInitKind.Normal: FillNormal(weights, Std, random); break;
            case WeightInitKind.GlorotNormal: FillNormal(weights, MathF.Sqrt(2f / (fanIn + fanOut)), random); break;
            case WeightInitKind.HeNormal: FillNormal(weights, MathF.Sqrt(2f / fanIn), random); break;
            case WeightInitKind.GlorotUniform: FillUniform(weights, MathF.Sqrt(6f / (fanIn + fanOut)), random); break;
            case WeightInitKind.HeUniform: FillUniform(weights, MathF.Sqrt(6f / fanIn), random); break;
        }
    }

    private static void FillUniform(Span<float> weights, float limit, Random random)
    {
        foreach (ref float w in weights)
            w = (float)((random.NextDouble() * 2.0 - 1.0) * limit);
    }

    private static void FillNormal(Span<float> weights, float std, Random random)
    {
        // Box-Muller from the seeded generator: reproducible on every machine for the same seed.
        for (int i = 0; i < weights.Length; i += 2)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            weights[i] = (float)(std * radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < weights.Length)
                weights[i + 1] = (float)(std * radius * Math.Sin(2 * Math.PI * u2));
        }
    }
}
