using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using FastMlp.Data;
using FastMlp.IO;
using FastMlp.Training;

namespace FastMlp.Cli.Tests;

/// <summary>Builds .fmlp files byte by byte (with valid checksums) to test what the loader does with odd headers.</summary>
internal static class ModelFileCrafting
{
    public static byte[] Craft(Action<BinaryWriter> header, int version = 1, ReadOnlySpan<float> bulk = default)
    {
        using var body = new MemoryStream();
        using (var w = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true)) header(w);
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'F', (byte)'M', (byte)'L', (byte)'P', 0x0D, 0x0A, 0x1A]);
        Span<byte> word = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(word, (ushort)version);
        BinaryPrimitives.WriteUInt16LittleEndian(word[2..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(word[4..], (uint)body.Length);
        file.Write(word[..8]);
        file.Write(body.ToArray());
        BinaryPrimitives.WriteUInt64LittleEndian(word, XxHash64.HashToUInt64(file.ToArray()));
        file.Write(word);
        foreach (float f in bulk) { BinaryPrimitives.WriteSingleLittleEndian(word, f); file.Write(word[..4]); }
        BinaryPrimitives.WriteUInt64LittleEndian(word, XxHash64.HashToUInt64(file.ToArray()));
        file.Write(word);
        return file.ToArray();
    }
}

/// <summary>The .fmlp format through the library API: bitwise round trips, atomic saves, validation of odd files.</summary>
public class ModelFileTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Save_then_load_is_bitwise_identical_and_predicts_identically()
    {
        Model model = TrainSmall(classification: true);
        string path = _temp.File("m.fmlp");
        ModelFile.Save(model, path);
        Model loaded = ModelFile.Load(path);

        Assert.True(model.Network.HasSameArchitecture(loaded.Network));
        Assert.True(model.Network.Parameters.SequenceEqual(loaded.Network.Parameters)); // padding included
        Assert.Equal(model.Loss, loaded.Loss);
        Assert.Equal(model.ClassNames!, loaded.ClassNames!);
        Assert.Equal(model.InputScaler!.Kind, loaded.InputScaler!.Kind);
        Assert.True(model.InputScaler.Offset.SequenceEqual(loaded.InputScaler.Offset));
        Assert.True(model.InputScaler.Factor.SequenceEqual(loaded.InputScaler.Factor));
        Assert.Null(loaded.TargetScaler);

        var random = new Random(3);
        var x = new float[model.Network.InputSize];
        var a = new float[model.Network.OutputSize];
        var b = new float[model.Network.OutputSize];
        for (int i = 0; i < 50; i++)
        {
            for (int j = 0; j < x.Length; j++) x[j] = (float)(random.NextDouble() * 10 - 5);
            model.Predict(x, a);
            loaded.Predict(x, b);
            Assert.Equal(a.Select(BitConverter.SingleToInt32Bits), b.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(model.PredictClass(x), loaded.PredictClass(x));
        }

        string again = _temp.File("again.fmlp");
        ModelFile.Save(loaded, again);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(again));
    }

    [Fact]
    public void Regression_model_keeps_its_target_scaler()
    {
        Model model = TrainSmall(classification: false);
        using var stream = new MemoryStream();
        ModelFile.Save(model, stream);
        stream.Position = 0;
        Model loaded = ModelFile.Load(stream);
        Assert.Equal(stream.Length, stream.Position);
        Assert.Null(loaded.ClassNames);
        Assert.False(loaded.IsClassifier);
        Assert.True(model.TargetScaler!.Offset.SequenceEqual(loaded.TargetScaler!.Offset));
        Assert.True(model.TargetScaler.Factor.SequenceEqual(loaded.TargetScaler.Factor));
        var x = new float[] { 0.3f, -1.2f };
        Span<float> a = stackalloc float[1], b = stackalloc float[1];
        model.Predict(x, a);
        loaded.Predict(x, b);
        Assert.Equal(BitConverter.SingleToInt32Bits(a[0]), BitConverter.SingleToInt32Bits(b[0]));
    }

    [Fact]
    public void Every_activation_parameter_loss_scaling_and_unicode_names_survive()
    {
        var net = new Network(3, new LayerSpec(4, Activation.LeakyRelu(0.2f)), new LayerSpec(3, Activation.Elu(1.5f)),
            new LayerSpec(2, Activation.Softplus), new LayerSpec(1, Activation.Sigmoid));
        net.Initialize(5);
        var scaler = new Scaler(ScalingKind.MaxAbs, [0f, 0f, 0f], [0.5f, 0.25f, 2f]);
        var model = new Model(net, LossKind.BinaryCrossEntropy, scaler, null, ["non, merci", "sí \"señor\" ✓"]);
        using var stream = new MemoryStream();
        ModelFile.Save(model, stream);
        stream.Position = 0;
        Model loaded = ModelFile.Load(stream);
        Assert.Equal(net.Layers.Select(l => l.Activation), loaded.Network.Layers.Select(l => l.Activation));
        Assert.Equal(LossKind.BinaryCrossEntropy, loaded.Loss);
        Assert.Equal(ScalingKind.MaxAbs, loaded.InputScaler!.Kind);
        Assert.Equal(model.ClassNames!, loaded.ClassNames!);
        Assert.True(net.Parameters.SequenceEqual(loaded.Network.Parameters));
    }

    [Fact]
    public void Save_is_atomic_and_overwrites()
    {
        string path = _temp.File("model.fmlp");
        File.WriteAllText(path, "old contents");
        Model model = TrainSmall(classification: true);
        ModelFile.Save(model, path);
        Assert.Equal([path], Directory.GetFiles(_temp.Path)); // no temporary file left behind
        Assert.NotNull(ModelFile.Load(path));

        // A failing save (the target is a folder) leaves no temporary file either.
        string folder = _temp.File("folder.fmlp");
        Directory.CreateDirectory(folder);
        Assert.ThrowsAny<IOException>(() => ModelFile.Save(model, folder));
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void Odd_headers_are_invalid_data()
    {
        static string Fail(byte[] bytes)
        {
            using var stream = new MemoryStream(bytes);
            return Assert.Throws<InvalidDataException>(() => ModelFile.Load(stream)).Message;
        }

        static void Layer(BinaryWriter w, int units, byte activation) { w.Write(units); w.Write(activation); w.Write(0f); }

        Assert.Contains("declares 100000 classes", Fail(ModelFileCrafting.Craft(w =>
        {
            w.Write(2); w.Write(1); Layer(w, 3, 9); w.Write((byte)2); w.Write((byte)255); w.Write((byte)255); w.Write(100_000);
        })));
        Assert.Contains("declares a 1000000-byte name for class 0", Fail(ModelFileCrafting.Craft(w =>
        {
            w.Write(2); w.Write(1); Layer(w, 2, 9); w.Write((byte)2); w.Write((byte)255); w.Write((byte)255); w.Write(2); w.Write(1_000_000);
        })));
        Assert.Contains("declares 0 layers", Fail(ModelFileCrafting.Craft(w => { w.Write(2); w.Write(0); })));
        Assert.Contains("declares an input size of -5", Fail(ModelFileCrafting.Craft(w => { w.Write(-5); })));
        Assert.Contains("unknown activation code 42", Fail(ModelFileCrafting.Craft(w => { w.Write(2); w.Write(1); Layer(w, 2, 42); })));
        Assert.Contains("ends in the middle of a field", Fail(ModelFileCrafting.Craft(w => { w.Write(2); w.Write(1); })));
        Assert.Contains("softmax", Fail(ModelFileCrafting.Craft(w =>
        {
            w.Write(2); w.Write(2); Layer(w, 2, 9); Layer(w, 2, 0); w.Write((byte)0); w.Write((byte)255); w.Write((byte)255); w.Write(0);
        }, bulk: new float[12])));
        Assert.Contains("Categorical cross-entropy needs a softmax", Fail(ModelFileCrafting.Craft(w =>
        {
            w.Write(1); w.Write(1); Layer(w, 2, 0); w.Write((byte)2); w.Write((byte)255); w.Write((byte)255); w.Write(0);
        }, bulk: new float[4])));
        Assert.Contains("Scaling factor 0 is zero", Fail(ModelFileCrafting.Craft(w =>
        {
            w.Write(1); w.Write(1); Layer(w, 1, 0); w.Write((byte)0); w.Write((byte)3); w.Write((byte)255); w.Write(0);
        }, bulk: new float[4])));
        Assert.Contains("version 0", Fail(ModelFileCrafting.Craft(w => { }, version: 0)));
        Assert.Contains("version 7", Fail(ModelFileCrafting.Craft(w => { }, version: 7)));
    }

    [Fact]
    public void Non_seekable_truncated_stream_is_invalid_data()
    {
        using var full = new MemoryStream();
        ModelFile.Save(TrainSmall(classification: true), full);
        byte[] bytes = full.ToArray()[..^20];
        using var stream = new ForwardOnlyStream(bytes);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ModelFile.Load(stream)).Message);
    }

    private static Model TrainSmall(bool classification)
    {
        var random = new Random(1);
        int n = 60;
        var x = new float[n * 2];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 4 - 2);
        Dataset data = classification
            ? Dataset.ForClassification(x, 2, Enumerable.Range(0, n).Select(i => x[2 * i] + x[2 * i + 1] > 0 ? 1 : 0).ToArray())
            : Dataset.ForRegression(x, 2, Enumerable.Range(0, n).Select(i => 100 + 30 * x[2 * i] - 10 * x[2 * i + 1]).ToArray());
        return Model.Train(data, new ModelOptions
        {
            HiddenLayers = [5],
            Training = new TrainerOptions { Epochs = 3, BatchSize = 8, Seed = 2 },
        }, classNames: classification ? ["negative", "positive"] : null).Model;
    }

    private sealed class ForwardOnlyStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }
}
