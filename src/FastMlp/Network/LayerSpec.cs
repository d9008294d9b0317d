namespace FastMlp;

/// <summary>Describes one dense layer to build: how many units and which activation.</summary>
/// <param name="Units">Number of outputs (neurons) of the layer; must be positive.</param>
/// <param name="Activation">The layer's activation function.</param>
public readonly record struct LayerSpec(int Units, Activation Activation);

/// <summary>
/// One dense layer of a built <see cref="Network"/> and where its parameters live in the flat buffer.
/// </summary>
/// <remarks>
/// Layout of the flat buffer, layer after layer: W as [Outputs x Inputs] row-major (row o holds the
/// weights into unit o: the PyTorch nn.Linear layout), then b [Outputs]. Each of W and b starts on
/// a 64-byte boundary (a multiple of 16 floats), with zero padding between them.
/// </remarks>
public sealed class DenseLayer
{
    internal DenseLayer(int index, int inputs, int outputs, Activation activation, int weightOffset, int biasOffset)
    {
        Index = index;
        Inputs = inputs;
        Outputs = outputs;
        Activation = activation;
        WeightOffset = weightOffset;
        BiasOffset = biasOffset;
    }

    /// <summary>Position of the layer, 0 for the first hidden layer.</summary>
    public int Index { get; }
    /// <summary>Width of the layer's input.</summary>
    public int Inputs { get; }
    /// <summary>Number of units (width of the output).</summary>
    public int Outputs { get; }
    /// <summary>The layer's activation.</summary>
    public Activation Activation { get; }
    /// <summary>Offset in floats of W[0, 0] in the flat parameter buffer.</summary>
    public int WeightOffset { get; }
    /// <summary>Offset in floats of b[0] in the flat parameter buffer.</summary>
    public int BiasOffset { get; }
    /// <summary>Number of weights (Outputs x Inputs).</summary>
    public int WeightCount => Inputs * Outputs;
}
