using CommunityToolkit.HighPerformance;

namespace FastMlp;

/// <summary>Shape checks shared by the public entry points; messages name the argument and the sizes.</summary>
internal static class Shapes
{
    public static ReadOnlySpan<float> Contiguous(ReadOnlySpan2D<float> batch, int width, string name)
    {
        if (batch.Width != width)
            throw new ArgumentException($"'{name}' has {batch.Width} columns; expected {width}.", name);
        if (!batch.TryGetSpan(out ReadOnlySpan<float> span))
            throw new ArgumentException($"'{name}' must be contiguous (a 2D view with pitch 0).", name);
        return span;
    }

    public static Span<float> Contiguous(Span2D<float> batch, int width, string name)
    {
        if (batch.Width != width)
            throw new ArgumentException($"'{name}' has {batch.Width} columns; expected {width}.", name);
        if (!batch.TryGetSpan(out Span<float> span))
            throw new ArgumentException($"'{name}' must be contiguous (a 2D view with pitch 0).", name);
        return span;
    }

    public static void RequireLength<T>(ReadOnlySpan<T> span, int length, string name)
    {
        if (span.Length != length)
            throw new ArgumentException($"'{name}' has length {span.Length}; expected {length}.", name);
    }

    public static void RequireLength<T>(Span<T> span, int length, string name) => RequireLength((ReadOnlySpan<T>)span, length, name);
}
