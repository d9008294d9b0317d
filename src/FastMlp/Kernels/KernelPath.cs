using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastMlp.Kernels;

/// <summary>
/// The instruction-set path the numeric kernels run on. Every kernel has a scalar reference; the others
/// are hand-written with System.Runtime.Intrinsics.
/// </summary>
public enum KernelPath
{
    /// <summary>Plain scalar loops: the reference every other path is checked against.</summary>
    Scalar,
    /// <summary>128-bit vectors through the cross-platform Vector128 API (SSE on x86, AdvSimd on ARM).</summary>
    Vector128,
    /// <summary>ARM NEON: Vector128 with AdvSimd fused multiply-add.</summary>
    Neon,
    /// <summary>x86 AVX2 + FMA: 256-bit vectors.</summary>
    Avx2,
    /// <summary>x86 AVX-512 (F, BW, DQ, VL): 512-bit vectors and masked tails.</summary>
    Avx512,
}

/// <summary>
/// Chooses the kernel path once at start-up: the FASTMLP_ISA environment variable
/// (scalar, vector128, neon, avx2, avx512) if set, else the best path the CPU supports. A value that names no path, or a
/// path the CPU lacks, makes every kernel call throw <see cref="KernelPathNotSupportedException"/> (never an illegal
/// instruction, never a silent fallback) until <see cref="Use"/> picks a path.
/// <see cref="Use"/> switches it at run time, for study and tests.
/// </summary>
public static class KernelDispatch
{
    /// <summary>Name of the environment variable that forces a path.</summary>
    public const string EnvironmentVariable = "FASTMLP_ISA";

    // FASTMLP_ISA is checked here but reported at first use (Current): an exception thrown by the type initializer would
    // reach the caller as a TypeInitializationException and leave this class unusable for the rest of the process.
    private static readonly (KernelPath Path, string? Error) s_environment = FromEnvironment(Environment.GetEnvironmentVariable(EnvironmentVariable));
    private static KernelPath s_current = s_environment.Path;

    /// <summary>Why FASTMLP_ISA cannot be used (it names no path, or one this CPU lacks) until <see cref="Use"/> picks one.</summary>
    private static string? s_forcedError = s_environment.Error;

    /// <summary>The path the kernels use now.</summary>
    /// <exception cref="KernelPathNotSupportedException">FASTMLP_ISA names no kernel path, or one this CPU does not
    /// support (until <see cref="Use"/> chooses a path).</exception>
    public static KernelPath Current => s_forcedError is null ? s_current : ThrowForcedPath();

    /// <summary>The best path this CPU supports (what is used unless overridden).</summary>
    public static KernelPath Best { get; } = Available[^1];

    /// <summary>The paths this CPU supports, from the scalar reference to the widest.</summary>
    public static IReadOnlyList<KernelPath> Available => Enum.GetValues<KernelPath>().Where(IsSupported).ToArray();

    /// <summary>True when this CPU (and runtime configuration) can run <paramref name="path"/>.</summary>
    public static bool IsSupported(KernelPath path) => path switch
    {
        KernelPath.Scalar => true,
        KernelPath.Vector128 => Vector128.IsHardwareAccelerated,
        KernelPath.Neon => AdvSimd.IsSupported && AdvSimd.Arm64.IsSupported,
        KernelPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        KernelPath.Avx512 => Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported && Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>Switches every kernel to <paramref name="path"/> (over FASTMLP_ISA, valid or not). Not meant to be called while
    /// kernels run on other threads.</summary>
    /// <exception cref="KernelPathNotSupportedException">The CPU lacks the instructions of <paramref name="path"/>.</exception>
    public static void Use(KernelPath path)
    {
        if (!Enum.IsDefined(path))
            throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown kernel path.");
        if (!IsSupported(path))
            throw new KernelPathNotSupportedException($"The kernel path {path} is not supported on this CPU; available: {string.Join(", ", Available)}.");
        s_current = path;
        s_forcedError = null;
    }

    /// <summary>The names <see cref="Parse"/> takes, for messages.</summary>
    private const string PathNames = "scalar, vector128, neon, avx2 or avx512";

    /// <summary>Parses a path name as used by FASTMLP_ISA (case-insensitive).</summary>
    public static KernelPath Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "scalar" => KernelPath.Scalar,
        "vector128" or "sse" => KernelPath.Vector128,
        "neon" or "advsimd" => KernelPath.Neon,
        "avx2" => KernelPath.Avx2,
        "avx512" => KernelPath.Avx512,
        _ => throw new ArgumentException($"Unknown kernel path '{name}' (expected {PathNames}).", nameof(name)),
    };

    /// <summary>A one-line description of the path, for diagnostics and reports.</summary>
    public static string Describe() => Current switch
    {
        KernelPath.Scalar => "Scalar (reference loops)",
        KernelPath.Vector128 => "Vector128 (4 x fp32)",
        KernelPath.Neon => "Neon (AdvSimd, 4 x fp32, FMA)",
        KernelPath.Avx2 => "Avx2 (8 x fp32, FMA)",
        _ => "Avx512 (16 x fp32, FMA)",
    };

    /// <summary>
    /// The path a FASTMLP_ISA value asks for: the best supported one when it is unset or blank; otherwise the path it names,
    /// or, when it names none or one this CPU lacks, the best one and why the value cannot be used (Error).
    /// </summary>
    internal static (KernelPath Path, string? Error) FromEnvironment(string? value)
    {
        KernelPath best = Available[^1];
        if (string.IsNullOrWhiteSpace(value))
            return (best, null);
        string available = string.Join(", ", Available);
        KernelPath path;
        try
        {
            path = Parse(value);
        }
        catch (ArgumentException)
        {
            return (best, $"{EnvironmentVariable}={value} names no kernel path (expected {PathNames}; available here: {available}).");
        }
        return IsSupported(path) ? (path, null)
            : (best, $"{EnvironmentVariable}={value} asks for a kernel path this CPU does not support; available: {available}.");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static KernelPath ThrowForcedPath() => throw new KernelPathNotSupportedException(s_forcedError!);
}

/// <summary>
/// A kernel path was requested that this CPU cannot run (<see cref="KernelDispatch.Use"/>), or FASTMLP_ISA names no path or
/// one the CPU lacks (thrown by <see cref="KernelDispatch.Current"/>, so by the first kernel call, until
/// <see cref="KernelDispatch.Use"/> picks a path). The message says which paths are available.
/// </summary>
public sealed class KernelPathNotSupportedException(string message) : NotSupportedException(message);
