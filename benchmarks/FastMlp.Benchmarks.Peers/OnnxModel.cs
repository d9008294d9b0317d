using System.Text;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// Writes a FastMlp network as an ONNX model (the protobuf bytes of a ModelProto), with a tiny hand-rolled protobuf
/// writer: OnnxRuntime does not ship the .proto types, and only a handful of fields are needed.
/// Graph: input "x" [N, in] -> (Gemm transB=1 with W [out x in] and b [out] -> Relu) per hidden layer -> Gemm ->
/// Softmax(axis 1) -> output "y" [N, out]. Opset 17, IR version 8.
/// </summary>
internal static class OnnxModel
{
    private const int FloatType = 1;       // TensorProto.DataType.FLOAT
    private const int AttributeInt = 2;    // AttributeProto.AttributeType.INT

    public static byte[] Build(Network net)
    {
        var graph = new ProtoWriter();
        string current = "x";
        for (int l = 0; l < net.Layers.Count; l++)
        {
            var layer = net.Layers[l];
            string w = $"W{l}", b = $"b{l}", u = $"u{l}";
            graph.Message(5, Tensor(w, [layer.Outputs, layer.Inputs], PeerArchitectures.Flat(net.Weights(l))));   // initializer
            graph.Message(5, Tensor(b, [layer.Outputs], net.Biases(l).ToArray()));
            graph.Message(1, Node("Gemm", $"gemm{l}", [current, w, b], [u], ("transB", 1)));          // node
            bool last = l == net.Layers.Count - 1;
            string a = last ? "y" : $"a{l}";
            graph.Message(1, last ? Node("Softmax", "softmax", [u], [a], ("axis", 1)) : Node("Relu", $"relu{l}", [u], [a]));
            current = a;
        }
        graph.String(2, "fastmlp");
        graph.Message(11, ValueInfo("x", net.InputSize));   // input
        graph.Message(12, ValueInfo("y", net.OutputSize));  // output

        var opset = new ProtoWriter();
        opset.String(1, "");
        opset.Varint(2, 17);

        var model = new ProtoWriter();
        model.Varint(1, 8);                 // ir_version
        model.String(2, "FastMlp.Benchmarks.Peers");  // producer_name
        model.Message(7, graph);            // graph
        model.Message(8, opset);            // opset_import
        return model.ToArray();
    }

    private static ProtoWriter Tensor(string name, long[] dims, float[] values)
    {
        var t = new ProtoWriter();
        foreach (long d in dims) t.Varint(1, (ulong)d);   // dims
        t.Varint(2, FloatType);                          // data_type
        t.String(8, name);                               // name
        var raw = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length); // raw_data is little-endian; so is every supported host
        t.Bytes(9, raw);
        return t;
    }

    private static ProtoWriter Node(string op, string name, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) n.String(2, o);
        n.String(3, name);
        n.String(4, op);
        foreach (var (attrName, value) in attributes)
        {
            var a = new ProtoWriter();
            a.String(1, attrName);
            a.Varint(3, (ulong)value);       // i
            a.Varint(20, AttributeInt);      // type
            n.Message(5, a);
        }
        return n;
    }

    /// <summary>A float tensor [N, width] with a symbolic batch dimension.</summary>
    private static ProtoWriter ValueInfo(string name, int width)
    {
        var batch = new ProtoWriter();
        batch.String(2, "N");                // dim_param
        var features = new ProtoWriter();
        features.Varint(1, (ulong)width);    // dim_value
        var shape = new ProtoWriter();
        shape.Message(1, batch);
        shape.Message(1, features);
        var tensor = new ProtoWriter();
        tensor.Varint(1, FloatType);         // elem_type
        tensor.Message(2, shape);            // shape
        var type = new ProtoWriter();
        type.Message(1, tensor);             // tensor_type
        var info = new ProtoWriter();
        info.String(1, name);
        info.Message(2, type);
        return info;
    }
}

/// <summary>The protobuf wire format, just enough for ONNX: varints and length-delimited fields.</summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    public void Varint(int field, ulong value)
    {
        Tag(field, 0);
        WriteVarint(value);
    }

    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _stream.Write(value);
    }

    public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public byte[] ToArray() => _stream.ToArray();

    private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _stream.WriteByte((byte)value);
    }
}
