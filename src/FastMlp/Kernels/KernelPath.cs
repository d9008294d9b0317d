namespace FastMlp.Kernels;

/// <summary>
/// The instruction-set path the numeric kernels run on. Every kernel has a scalar reference;
/// the other paths are chosen once at start-up from the CPU's capabilities.
/// </summary>
public enum KernelPath
{
    /// <summary>Plain scalar loops: the reference every other path is checked against.</summary>
    Scalar,
    /// <summary>Portable <see cref="System.Numerics.Vector{T}"/> code (whatever width the runtime picks).</summary>
    PortableVector,
}

/// <summary>Reports and selects the kernel path.</summary>
public static class KernelDispatch
{
    /// <summary>The path the kernels use in this process.</summary>
    public static KernelPath Current { get; } = System.Numerics.Vector.IsHardwareAccelerated
        ? KernelPath.PortableVector
        : KernelPath.Scalar;

    /// <summary>A one-line description of the path, for diagnostics and reports.</summary>
    public static string Describe() => Current == KernelPath.PortableVector
        ? $"{Current} ({System.Numerics.Vector<float>.Count} x fp32 lanes)"
        : Current.ToString();
}
