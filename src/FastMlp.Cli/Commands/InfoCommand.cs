using System.CommandLine;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using FastMlp.Kernels;

namespace FastMlp.Cli.Commands;

/// <summary><c>fastmlp info</c>: version, runtime, CPU SIMD capabilities, kernel path, threads.</summary>
internal static class InfoCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("info", "Show the version, the CPU's SIMD capabilities, the kernel path in use and the thread count.");
        command.SetAction(_ => Run(context));
        return command;
    }

    private static int Run(CliContext context)
    {
        TextWriter o = context.Stdout;
        o.WriteLine($"fastmlp {Cli.Version}");
        o.WriteLine($"runtime: {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})");
        o.WriteLine($"threads: {Environment.ProcessorCount} (Environment.ProcessorCount)");
        o.WriteLine($"kernel path: {KernelDispatch.Describe()}");
        o.WriteLine($"vectors: Vector<float> {Vector<float>.Count} lanes (hardware accelerated: {YesNo(Vector.IsHardwareAccelerated)}), "
            + $"Vector128 {YesNo(Vector128.IsHardwareAccelerated)}, Vector256 {YesNo(Vector256.IsHardwareAccelerated)}, Vector512 {YesNo(Vector512.IsHardwareAccelerated)}");
        o.WriteLine("x86 SIMD: " + Flags(
            ("SSE", Sse.IsSupported), ("SSE2", Sse2.IsSupported), ("SSE3", Sse3.IsSupported), ("SSSE3", Ssse3.IsSupported),
            ("SSE4.1", Sse41.IsSupported), ("SSE4.2", Sse42.IsSupported), ("POPCNT", Popcnt.IsSupported), ("AVX", Avx.IsSupported),
            ("AVX2", Avx2.IsSupported), ("FMA", Fma.IsSupported), ("BMI1", Bmi1.IsSupported), ("BMI2", Bmi2.IsSupported),
            ("AVX-VNNI", AvxVnni.IsSupported), ("AVX-512F", Avx512F.IsSupported), ("AVX-512BW", Avx512BW.IsSupported),
            ("AVX-512CD", Avx512CD.IsSupported), ("AVX-512DQ", Avx512DQ.IsSupported), ("AVX-512VL", Avx512F.VL.IsSupported),
            ("AVX-512VBMI", Avx512Vbmi.IsSupported), ("AVX10.1", Avx10v1.IsSupported)));
        o.WriteLine("Arm SIMD: " + Flags(
            ("AdvSimd", AdvSimd.IsSupported), ("AdvSimd.Arm64", AdvSimd.Arm64.IsSupported), ("Aes", System.Runtime.Intrinsics.Arm.Aes.IsSupported),
            ("Crc32", Crc32.IsSupported), ("Dp", Dp.IsSupported), ("Rdm", Rdm.IsSupported)));
        return Cli.Success;
    }

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string Flags(params (string Name, bool Supported)[] flags)
    {
        string[] yes = flags.Where(f => f.Supported).Select(f => f.Name).ToArray();
        string[] no = flags.Where(f => !f.Supported).Select(f => f.Name).ToArray();
        return (yes.Length == 0 ? "none" : string.Join(" ", yes)) + (no.Length == 0 ? "" : $" (not supported: {string.Join(" ", no)})");
    }
}
