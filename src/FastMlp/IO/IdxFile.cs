using System.Buffers.Binary;
using System.IO.Compression;
using FastMlp.Data;

namespace FastMlp.IO;

/// <summary>
/// Reads the IDX files of the MNIST family (MNIST, Fashion-MNIST, ...), plain or gzipped: a big-endian int32 magic
/// (0x00000803 for images, 0x00000801 for labels: unsigned bytes with 3 or 1 dimensions), big-endian int32 dimensions,
/// then the bytes row-major.
/// </summary>
public static class IdxFile
{
    /// <summary>Magic number of an image file (unsigned bytes, 3 dimensions).</summary>
    public const int ImagesMagic = 0x00000803;
    /// <summary>Magic number of a label file (unsigned bytes, 1 dimension).</summary>
    public const int LabelsMagic = 0x00000801;
    /// <summary>Largest number of bytes an IDX file may declare.</summary>
    public const long MaxBytes = int.MaxValue / 2;

    /// <summary>The class names of Fashion-MNIST, in label order.</summary>
    public static IReadOnlyList<string> FashionMnistClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Reads an image file: [count x rows x columns] pixel bytes.</summary>
    /// <exception cref="InvalidDataException">Wrong magic, absurd dimensions or a truncated file.</exception>
    public static (byte[] Pixels, int Count, int Rows, int Columns) ReadImages(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        int[] dims = ReadHeader(stream, ImagesMagic, 3, name);
        return (ReadBody(stream, (long)dims[0] * dims[1] * dims[2], name), dims[0], dims[1], dims[2]);
    }

    /// <summary>Reads a label file: one byte per sample.</summary>
    /// <exception cref="InvalidDataException">Wrong magic, absurd dimensions or a truncated file.</exception>
    public static byte[] ReadLabels(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        int[] dims = ReadHeader(stream, LabelsMagic, 1, name);
        return ReadBody(stream, dims[0], name);
    }

    /// <summary>
    /// Loads one part of an MNIST-style folder ("train" or "t10k"): <c>{part}-images-idx3-ubyte[.gz]</c> and
    /// <c>{part}-labels-idx1-ubyte[.gz]</c>, as a classification set with pixels as floats 0..255.
    /// </summary>
    /// <param name="folder">The folder.</param>
    /// <param name="part">"train" or "t10k".</param>
    /// <param name="classCount">Number of classes; null: the largest label + 1.</param>
    /// <exception cref="FileNotFoundException">A file of the part is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, or images and labels disagree.</exception>
    public static Dataset LoadPart(string folder, string part, int? classCount = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentException.ThrowIfNullOrEmpty(part);
        string imagesPath = Find(folder, $"{part}-images-idx3-ubyte");
        string labelsPath = Find(folder, $"{part}-labels-idx1-ubyte");
        var (pixels, count, rows, columns) = WithFile(imagesPath, ReadImages);
        byte[] labels = WithFile(labelsPath, ReadLabels);
        if (labels.Length != count)
            throw new InvalidDataException($"'{imagesPath}' has {count} images but '{labelsPath}' has {labels.Length} labels.");
        var features = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) features[i] = pixels[i];
        var classes = new int[labels.Length];
        int max = 0;
        for (int i = 0; i < labels.Length; i++) { classes[i] = labels[i]; max = Math.Max(max, labels[i]); }
        int classTotal = classCount ?? max + 1;
        if (classTotal < 2)
            throw new InvalidDataException($"'{labelsPath}' holds a single class; a classification set needs at least 2.");
        if (max >= classTotal)
            throw new InvalidDataException($"'{labelsPath}' holds label {max}; expected labels in [0, {classTotal}).");
        return Dataset.ForClassification(features, rows * columns, classes, classTotal);
    }

    /// <summary>True when <paramref name="folder"/> holds the files of the MNIST-style part (plain or gzipped).</summary>
    public static bool HasPart(string folder, string part) =>
        TryFind(folder, $"{part}-images-idx3-ubyte") is not null && TryFind(folder, $"{part}-labels-idx1-ubyte") is not null;

    private static T WithFile<T>(string path, Func<Stream, string, T> read)
    {
        using Stream file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        string name = $"'{path}'";
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            return read(file, name);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        try
        {
            return read(gzip, name);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(name, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{name} is not a valid gzip file ({e.Message.TrimEnd('.')}).", e);
        }
    }

    private static string Find(string folder, string stem) =>
        TryFind(folder, stem) ?? throw new FileNotFoundException(
            $"The folder '{folder}' has no {stem}.gz (nor {stem}); an MNIST-style folder holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.",
            Path.Combine(folder, stem + ".gz"));

    private static string? TryFind(string folder, string stem)
    {
        // The usual names, and the variant with a dot before "idx" that some mirrors use.
        string dotted = stem.Replace("-idx", ".idx", StringComparison.Ordinal);
        foreach (string candidate in new[] { stem + ".gz", stem, dotted + ".gz", dotted })
        {
            string path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    private static int[] ReadHeader(Stream stream, int magic, int dimensions, string name)
    {
        Span<byte> word = stackalloc byte[4];
        ReadExactly(stream, word, name, "its header");
        int actual = BinaryPrimitives.ReadInt32BigEndian(word);
        if (actual != magic)
            throw new InvalidDataException($"{name} is not an IDX {(magic == ImagesMagic ? "image" : "label")} file: its magic number is 0x{actual:X8}, expected 0x{magic:X8}.");
        var dims = new int[dimensions];
        long total = 1;
        for (int d = 0; d < dimensions; d++)
        {
            ReadExactly(stream, word, name, "its header");
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(word);
            if (dims[d] <= 0)
                throw new InvalidDataException($"{name} declares dimension {d} as {dims[d]}; every dimension must be positive.");
            total *= dims[d];
            if (total > MaxBytes)
                throw new InvalidDataException($"{name} declares more than {MaxBytes} bytes of data; the dimensions are absurd or corrupted.");
        }
        return dims;
    }

    private static byte[] ReadBody(Stream stream, long length, string name)
    {
        if (stream.CanSeek && stream.Length - stream.Position < length)
            throw new InvalidDataException($"{name} is truncated: it declares {length} data bytes but has {stream.Length - stream.Position}.");
        // Grow as data arrives, so a corrupted header cannot make us allocate far more than the file holds.
        var data = new byte[(int)Math.Min(length, 16 << 20)];
        int filled = 0;
        while (filled < length)
        {
            if (filled == data.Length) Array.Resize(ref data, (int)Math.Min(length, (long)data.Length * 2));
            int read = stream.Read(data, filled, data.Length - filled);
            if (read == 0)
                throw new InvalidDataException($"{name} is truncated: it declares {length} data bytes but ends after {filled}.");
            filled += read;
        }
        return data;
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{name} is truncated: it ends inside {what}.");
        }
    }
}
