using System.Buffers.Binary;
using System.IO.Compression;

namespace FastMlp.Cli.Tests;

/// <summary>Writes small synthetic MNIST-style IDX sets (4x4 images, 3 classes, each class lighting up its own band of pixels).</summary>
internal static class IdxWriter
{
    public static void WriteSet(string folder, string part, int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[count * 16];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % 3;
            labels[i] = (byte)c;
            for (int p = 0; p < 16; p++)
            {
                bool lit = p / 4 == c || (c == 2 && p / 4 == 3);
                pixels[i * 16 + p] = (byte)Math.Clamp((lit ? 200 : 30) + random.Next(-30, 31), 0, 255);
            }
        }
        WriteGz(Path.Combine(folder, $"{part}-images-idx3-ubyte.gz"), Images(pixels, count, 4, 4));
        WriteGz(Path.Combine(folder, $"{part}-labels-idx1-ubyte.gz"), Labels(labels));
    }

    public static byte[] Images(byte[] pixels, int count, int rows, int columns)
    {
        var data = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, 0x00000803);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(12), columns);
        pixels.CopyTo(data, 16);
        return data;
    }

    public static byte[] Labels(byte[] labels)
    {
        var data = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(data, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4), labels.Length);
        labels.CopyTo(data, 8);
        return data;
    }

    public static void WriteGz(string path, byte[] data)
    {
        using var file = File.Create(path);
        using var zip = new GZipStream(file, CompressionLevel.Fastest);
        zip.Write(data);
    }
}
