using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using FastMlp.Data;

namespace FastMlp.IO;

/// <summary>
/// Reads and writes the <c>.fmlp</c> model file: architecture, loss, scalers, class names and the parameters,
/// protected by XxHash64 checksums. Every number is little-endian.
/// </summary>
/// <remarks>
/// <para>Layout (format version 1):</para>
/// <list type="number">
/// <item>Prefix, 16 bytes: magic <c>89 46 4D 4C 50 0D 0A 1A</c> ("\x89FMLP\r\n\x1A"), uint16 format version, uint16 flags (0),
/// uint32 H = length of the header block.</item>
/// <item>Header block, H bytes: int32 input size; int32 layer count L; L times { int32 units, uint8 activation, float32 activation parameter };
/// uint8 loss; uint8 input scaler kind; uint8 target scaler kind (255 = no scaler); int32 class count C (0 = no class names);
/// C times { int32 byte length, UTF-8 bytes }.</item>
/// <item>uint64 XxHash64 of the prefix and the header block (checked before any large buffer is allocated).</item>
/// <item>Bulk, float32: input scaler offsets then factors (input size each, if present); target scaler offsets then factors
/// (output size each, if present); then for each layer W [units x inputs] row-major followed by b [units]
/// (the network's flat buffer without its alignment padding).</item>
/// <item>uint64 XxHash64 of every byte before it.</item>
/// </list>
/// <para>Codes: activation identity 0, step 1, bipolar step 2, sigmoid 3, tanh 4, relu 5, leaky relu 6, elu 7, softplus 8, softmax 9;
/// loss MSE 0, binary CE 1, categorical CE 2; scaling none 0, min-max 1, max-abs 2, z-score 3, mean 4.</para>
/// <para>Loading validates the magic, the version, the header checksum, every dimension (at most
/// <see cref="Network.MaxParameterCount"/> parameters, <see cref="MaxLayers"/> layers, <see cref="MaxClasses"/> classes,
/// names of at most <see cref="MaxNameBytes"/> UTF-8 bytes) and, for seekable streams, the length, before it allocates the
/// parameter buffer; then the whole-file checksum. Any problem is an <see cref="InvalidDataException"/> that says what is wrong.</para>
/// </remarks>
public static class ModelFile
{
    /// <summary>The format version this build writes (and the newest it reads).</summary>
    public const int FormatVersion = 1;
    /// <summary>The usual file extension.</summary>
    public const string Extension = ".fmlp";
    /// <summary>Most layers a model file may declare.</summary>
    public const int MaxLayers = 4096;
    /// <summary>Most classes a model file may declare.</summary>
    public const int MaxClasses = 1 << 16;
    /// <summary>Longest class name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 1024;
    /// <summary>Largest header block, in bytes.</summary>
    public const int MaxHeaderBytes = 16 << 20;

    private const int PrefixBytes = 16;
    private const byte NoScaler = 255;
    private const int ChunkBytes = 1 << 20;
    private static ReadOnlySpan<byte> Magic => [0x89, (byte)'F', (byte)'M', (byte)'L', (byte)'P', 0x0D, 0x0A, 0x1A];

    /// <summary>
    /// Saves atomically: writes a temporary file in the same folder, flushes it to disk, then renames it over
    /// <paramref name="path"/>. A crash leaves either the old file or the new one, never a partial file.
    /// </summary>
    public static void Save(Model model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Save(model, stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes the model to <paramref name="stream"/> (from its current position).</summary>
    public static void Save(Model model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        byte[] head = BuildHead(model);
        var hash = new XxHash64();
        Write(stream, hash, head);
        Span<byte> word = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(word, XxHash64.HashToUInt64(head));
        Write(stream, hash, word);

        if (model.InputScaler is { } input) { WriteFloats(stream, hash, input.Offset); WriteFloats(stream, hash, input.Factor); }
        if (model.TargetScaler is { } target) { WriteFloats(stream, hash, target.Offset); WriteFloats(stream, hash, target.Factor); }
        ReadOnlySpan<float> parameters = model.Network.Parameters;
        foreach (DenseLayer l in model.Network.Layers)
        {
            WriteFloats(stream, hash, parameters.Slice(l.WeightOffset, l.WeightCount));
            WriteFloats(stream, hash, parameters.Slice(l.BiasOffset, l.Outputs));
        }
        BinaryPrimitives.WriteUInt64LittleEndian(word, hash.GetCurrentHashAsUInt64());
        stream.Write(word);
    }

    /// <summary>Loads a model file.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid model file (the message says why).</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static Model Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Read(stream, $"'{path}'", wholeStream: true);
    }

    /// <summary>Reads one model from <paramref name="stream"/> and leaves the stream just after it.</summary>
    /// <exception cref="InvalidDataException">The data is not a valid model (the message says why).</exception>
    public static Model Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Read(stream, "The model stream", wholeStream: false);
    }

    private static byte[] BuildHead(Model model)
    {
        using var buffer = new MemoryStream();
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write((ushort)FormatVersion);
            w.Write((ushort)0);
            w.Write(0u); // header length, patched below
            Network net = model.Network;
            w.Write(net.InputSize);
            w.Write(net.Layers.Count);
            foreach (DenseLayer l in net.Layers)
            {
                w.Write(l.Outputs);
                w.Write(ActivationCode(l.Activation.Kind));
                w.Write(l.Activation.Parameter);
            }
            w.Write(LossCode(model.Loss));
            w.Write(model.InputScaler is null ? NoScaler : ScalingCode(model.InputScaler.Kind));
            w.Write(model.TargetScaler is null ? NoScaler : ScalingCode(model.TargetScaler.Kind));
            IReadOnlyList<string>? names = model.ClassNames;
            w.Write(names?.Count ?? 0);
            if (names is not null)
            {
                foreach (string name in names)
                {
                    byte[] bytes = Encoding.UTF8.GetBytes(name);
                    if (bytes.Length > MaxNameBytes)
                        throw new ArgumentException($"Class name '{name[..Math.Min(name.Length, 40)]}...' is {bytes.Length} UTF-8 bytes; a model file allows {MaxNameBytes}.", nameof(model));
                    w.Write(bytes.Length);
                    w.Write(bytes);
                }
            }
        }
        byte[] head = buffer.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(12), (uint)(head.Length - PrefixBytes));
        return head;
    }

    private static Model Read(Stream stream, string name, bool wholeStream)
    {
        long? available = null;
        if (stream.CanSeek) available = stream.Length - stream.Position;

        Span<byte> prefix = stackalloc byte[PrefixBytes];
        if (available < PrefixBytes)
            throw Bad(name, $"is {available} bytes long, too short for a FastMlp model file (truncated or not a model file)");
        ReadExactly(stream, prefix, name);
        if (!prefix[..8].SequenceEqual(Magic))
            throw Bad(name, "is not a FastMlp model file (its first bytes are not the .fmlp signature)");
        int version = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
        if (version > FormatVersion)
            throw Bad(name, $"uses model format version {version}, which is newer than this FastMlp reads (up to version {FormatVersion}); update FastMlp to load it");
        if (version == 0)
            throw Bad(name, "declares model format version 0, which does not exist");
        int flags = BinaryPrimitives.ReadUInt16LittleEndian(prefix[10..]);
        if (flags != 0)
            throw Bad(name, $"sets unknown format flags 0x{flags:X4}");
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix[12..]);
        if (headerLength > MaxHeaderBytes)
            throw Bad(name, $"declares a header of {headerLength} bytes; the limit is {MaxHeaderBytes} (corrupted file)");
        if (available is { } a && a < PrefixBytes + headerLength + 8)
            throw Bad(name, $"is truncated: it has {a} bytes but its header alone needs {PrefixBytes + headerLength + 8}");

        var head = new byte[PrefixBytes + headerLength];
        prefix.CopyTo(head);
        ReadExactly(stream, head.AsSpan(PrefixBytes), name);
        Span<byte> word = stackalloc byte[8];
        ReadExactly(stream, word, name);
        if (BinaryPrimitives.ReadUInt64LittleEndian(word) != XxHash64.HashToUInt64(head))
            throw Bad(name, "is corrupted: the header checksum does not match its contents");
        var hash = new XxHash64();
        hash.Append(head);
        hash.Append(word);

        Header h = ParseHeader(head.AsSpan(PrefixBytes), name);
        long expected = PrefixBytes + headerLength + 8 + h.BulkFloats * sizeof(float) + 8;
        if (available is { } total)
        {
            if (total < expected)
                throw Bad(name, $"is truncated: it has {total} bytes but its header describes {expected}");
            if (wholeStream && total > expected)
                throw Bad(name, $"has {total - expected} unexpected bytes after the model (it should be {expected} bytes long)");
        }

        Network net;
        try
        {
            net = new Network(h.InputSize, h.Layers);
        }
        catch (ArgumentException e)
        {
            throw Bad(name, $"describes an invalid network: {Plain(e)}");
        }
        float[]? inOffset = null, inFactor = null, outOffset = null, outFactor = null;
        if (h.InputScaling is not null)
        {
            inOffset = ReadFloats(stream, hash, h.InputSize, name);
            inFactor = ReadFloats(stream, hash, h.InputSize, name);
        }
        if (h.TargetScaling is not null)
        {
            outOffset = ReadFloats(stream, hash, net.OutputSize, name);
            outFactor = ReadFloats(stream, hash, net.OutputSize, name);
        }
        Span<float> parameters = net.Parameters;
        foreach (DenseLayer l in net.Layers)
        {
            ReadFloats(stream, hash, parameters.Slice(l.WeightOffset, l.WeightCount), name);
            ReadFloats(stream, hash, parameters.Slice(l.BiasOffset, l.Outputs), name);
        }
        ReadExactly(stream, word, name);
        if (BinaryPrimitives.ReadUInt64LittleEndian(word) != hash.GetCurrentHashAsUInt64())
            throw Bad(name, "is corrupted: the checksum does not match its contents");

        try
        {
            Scaler? input = h.InputScaling is { } ik ? new Scaler(ik, inOffset!, inFactor!) : null;
            Scaler? target = h.TargetScaling is { } tk ? new Scaler(tk, outOffset!, outFactor!) : null;
            return new Model(net, h.Loss, input, target, h.ClassNames);
        }
        catch (ArgumentException e)
        {
            throw Bad(name, $"holds an inconsistent model: {Plain(e)}");
        }
    }

    private sealed record Header(int InputSize, LayerSpec[] Layers, LossKind Loss, ScalingKind? InputScaling, ScalingKind? TargetScaling,
        string[]? ClassNames, long BulkFloats);

    private static Header ParseHeader(ReadOnlySpan<byte> data, string name)
    {
        var r = new SpanReader(data, name);
        int inputSize = r.Int32();
        if (inputSize <= 0 || inputSize > Network.MaxParameterCount)
            throw Bad(name, $"declares an input size of {inputSize}; it must be in [1, {Network.MaxParameterCount}]");
        int layerCount = r.Int32();
        if (layerCount <= 0 || layerCount > MaxLayers)
            throw Bad(name, $"declares {layerCount} layers; it must be in [1, {MaxLayers}]");
        var layers = new LayerSpec[layerCount];
        long parameters = 0;
        int inputs = inputSize;
        for (int i = 0; i < layerCount; i++)
        {
            int units = r.Int32();
            if (units <= 0 || units > Network.MaxParameterCount)
                throw Bad(name, $"declares {units} units in layer {i}; it must be in [1, {Network.MaxParameterCount}]");
            byte code = r.Byte();
            float parameter = r.Single();
            ActivationKind kind = ActivationFromCode(code) ?? throw Bad(name, $"uses unknown activation code {code} in layer {i}");
            try
            {
                layers[i] = new LayerSpec(units, new Activation(kind, parameter));
            }
            catch (ArgumentException e)
            {
                throw Bad(name, $"has an invalid activation in layer {i}: {Plain(e)}");
            }
            parameters += (long)inputs * units + units;
            if (parameters > Network.MaxParameterCount)
                throw Bad(name, $"describes more than {Network.MaxParameterCount} parameters (layer {i}: {inputs} x {units}); the dimensions are absurd or corrupted");
            inputs = units;
        }
        byte lossCode = r.Byte();
        LossKind loss = LossFromCode(lossCode) ?? throw Bad(name, $"uses unknown loss code {lossCode}");
        ScalingKind? inputScaling = ScalerFromCode(r.Byte(), "input", name);
        ScalingKind? targetScaling = ScalerFromCode(r.Byte(), "target", name);
        int classCount = r.Int32();
        if (classCount != 0 && (classCount < 2 || classCount > MaxClasses))
            throw Bad(name, $"declares {classCount} classes; it must be 0 (regression) or in [2, {MaxClasses}]");
        int outputs = inputs;
        if (classCount != 0 && classCount != (outputs == 1 ? 2 : outputs))
            throw Bad(name, $"declares {classCount} class names for a network with {outputs} output(s)");
        string[]? names = null;
        if (classCount > 0)
        {
            names = new string[classCount];
            var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            for (int c = 0; c < classCount; c++)
            {
                int length = r.Int32();
                if (length < 0 || length > MaxNameBytes)
                    throw Bad(name, $"declares a {length}-byte name for class {c}; names may have at most {MaxNameBytes} bytes");
                try
                {
                    names[c] = utf8.GetString(r.Bytes(length));
                }
                catch (DecoderFallbackException)
                {
                    throw Bad(name, $"holds a name for class {c} that is not valid UTF-8");
                }
            }
        }
        if (!r.AtEnd)
            throw Bad(name, $"has {r.Remaining} unexpected bytes at the end of its header");
        long bulk = parameters + (inputScaling is null ? 0 : 2L * inputSize) + (targetScaling is null ? 0 : 2L * outputs);
        return new Header(inputSize, layers, loss, inputScaling, targetScaling, names, bulk);
    }

    private ref struct SpanReader(ReadOnlySpan<byte> data, string name)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position == _data.Length;
        public readonly int Remaining => _data.Length - _position;

        public ReadOnlySpan<byte> Bytes(int count)
        {
            if (count > _data.Length - _position)
                throw Bad(name, "has a header that ends in the middle of a field (corrupted file)");
            ReadOnlySpan<byte> s = _data.Slice(_position, count);
            _position += count;
            return s;
        }

        public byte Byte() => Bytes(1)[0];
        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4));
        public float Single() => BinaryPrimitives.ReadSingleLittleEndian(Bytes(4));
    }

    private static void Write(Stream stream, XxHash64 hash, ReadOnlySpan<byte> bytes)
    {
        stream.Write(bytes);
        hash.Append(bytes);
    }

    private static void WriteFloats(Stream stream, XxHash64 hash, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(values);
            for (int i = 0; i < bytes.Length; i += ChunkBytes)
                Write(stream, hash, bytes.Slice(i, Math.Min(ChunkBytes, bytes.Length - i)));
            return;
        }
        byte[] buffer = new byte[Math.Min(ChunkBytes, values.Length * sizeof(float))];
        for (int i = 0; i < values.Length;)
        {
            int n = Math.Min(buffer.Length / sizeof(float), values.Length - i);
            for (int k = 0; k < n; k++) BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(k * sizeof(float)), values[i + k]);
            Write(stream, hash, buffer.AsSpan(0, n * sizeof(float)));
            i += n;
        }
    }

    private static float[] ReadFloats(Stream stream, XxHash64 hash, int count, string name)
    {
        var values = new float[count];
        ReadFloats(stream, hash, values, name);
        return values;
    }

    private static void ReadFloats(Stream stream, XxHash64 hash, Span<float> destination, string name)
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        for (int i = 0; i < bytes.Length; i += ChunkBytes)
        {
            Span<byte> chunk = bytes.Slice(i, Math.Min(ChunkBytes, bytes.Length - i));
            ReadExactly(stream, chunk, name);
            hash.Append(chunk);
        }
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> words = MemoryMarshal.Cast<float, int>(destination);
            BinaryPrimitives.ReverseEndianness(words, words);
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw Bad(name, "is truncated: it ends before the model is complete");
        }
    }

    private static InvalidDataException Bad(string name, string problem) => new($"{name} {problem.TrimEnd('.')}.");

    /// <summary>An argument exception's message without the "(Parameter 'x')" suffix and the "Actual value" line.</summary>
    private static string Plain(ArgumentException e)
    {
        string message = e.Message.Split('\n')[0];
        int suffix = message.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        return (suffix >= 0 ? message[..suffix] : message).Trim().TrimEnd('.');
    }

    private static byte ActivationCode(ActivationKind kind) => kind switch
    {
        ActivationKind.Identity => 0,
        ActivationKind.Step => 1,
        ActivationKind.BipolarStep => 2,
        ActivationKind.Sigmoid => 3,
        ActivationKind.Tanh => 4,
        ActivationKind.Relu => 5,
        ActivationKind.LeakyRelu => 6,
        ActivationKind.Elu => 7,
        ActivationKind.Softplus => 8,
        ActivationKind.Softmax => 9,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "This activation has no model-file code."),
    };

    private static ActivationKind? ActivationFromCode(byte code) => code switch
    {
        0 => ActivationKind.Identity,
        1 => ActivationKind.Step,
        2 => ActivationKind.BipolarStep,
        3 => ActivationKind.Sigmoid,
        4 => ActivationKind.Tanh,
        5 => ActivationKind.Relu,
        6 => ActivationKind.LeakyRelu,
        7 => ActivationKind.Elu,
        8 => ActivationKind.Softplus,
        9 => ActivationKind.Softmax,
        _ => null,
    };

    private static byte LossCode(LossKind loss) => loss switch
    {
        LossKind.MeanSquaredError => 0,
        LossKind.BinaryCrossEntropy => 1,
        LossKind.CategoricalCrossEntropy => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(loss), loss, "This loss has no model-file code."),
    };

    private static LossKind? LossFromCode(byte code) => code switch
    {
        0 => LossKind.MeanSquaredError,
        1 => LossKind.BinaryCrossEntropy,
        2 => LossKind.CategoricalCrossEntropy,
        _ => null,
    };

    private static byte ScalingCode(ScalingKind kind) => kind switch
    {
        ScalingKind.None => 0,
        ScalingKind.MinMax => 1,
        ScalingKind.MaxAbs => 2,
        ScalingKind.ZScore => 3,
        ScalingKind.Mean => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "This scaling has no model-file code."),
    };

    private static ScalingKind? ScalerFromCode(byte code, string which, string name) => code switch
    {
        NoScaler => null,
        0 => ScalingKind.None,
        1 => ScalingKind.MinMax,
        2 => ScalingKind.MaxAbs,
        3 => ScalingKind.ZScore,
        4 => ScalingKind.Mean,
        _ => throw Bad(name, $"uses unknown {which} scaler code {code}"),
    };
}
