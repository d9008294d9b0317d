using FastMlp.Data;

namespace FastMlp;

/// <summary>
/// A <see cref="Model"/> for the lowest one-sample latency: its input scaling, its network's <see cref="FrozenNetwork"/>
/// and its target scaling undone, in one call. Made by <see cref="Model.Freeze"/>; like <see cref="FrozenNetwork"/>, a
/// snapshot of the weights at that moment, with outputs that differ from <see cref="Model.Predict(ReadOnlySpan{float}, Span{float})"/>
/// in the last bits only.
/// </summary>
public sealed class FrozenModel
{
    /// <summary>Widest input whose scaled copy lives on the stack; wider ones use a per-thread buffer.</summary>
    private const int StackInputs = 2048;

    private readonly FrozenNetwork _network;
    private readonly Scaler? _inputScaler;
    private readonly Scaler? _targetScaler;
    private readonly ThreadLocal<float[]> _wideInputs;

    internal FrozenModel(Model model)
    {
        _network = model.Network.Freeze();
        _inputScaler = model.InputScaler;
        _targetScaler = model.TargetScaler;
        ClassNames = model.ClassNames;
        _wideInputs = new ThreadLocal<float[]>(() => new float[_network.InputSize]);
    }

    /// <summary>Width of a raw input sample.</summary>
    public int InputSize => _network.InputSize;

    /// <summary>Width of an output sample.</summary>
    public int OutputSize => _network.OutputSize;

    /// <summary>Names of the classes (classification), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Predicts one raw sample: probabilities (classifier) or values in target units. Thread-safe, no allocation.</summary>
    /// <exception cref="ArgumentException"><paramref name="input"/> is not <see cref="InputSize"/> long or <paramref name="output"/> not <see cref="OutputSize"/>.</exception>
    [System.Runtime.CompilerServices.SkipLocalsInit]
    public void Predict(ReadOnlySpan<float> input, Span<float> output)
    {
        Shapes.RequireLength(input, InputSize, nameof(input));
        if (_inputScaler is null)
            _network.Predict(input, output);
        else
        {
            Span<float> scaled = InputSize <= StackInputs ? stackalloc float[InputSize] : _wideInputs.Value;
            _inputScaler.Transform(input, scaled);
            _network.Predict(scaled, output);
        }
        _targetScaler?.InverseInPlace(output);
    }

    /// <summary>Predicts the class index of one raw sample. Thread-safe, no allocation.</summary>
    [System.Runtime.CompilerServices.SkipLocalsInit]
    public int PredictClass(ReadOnlySpan<float> input)
    {
        Shapes.RequireLength(input, InputSize, nameof(input));
        if (_inputScaler is null)
            return _network.PredictClass(input);
        Span<float> scaled = InputSize <= StackInputs ? stackalloc float[InputSize] : _wideInputs.Value;
        _inputScaler.Transform(input, scaled);
        return _network.PredictClass(scaled);
    }
}
