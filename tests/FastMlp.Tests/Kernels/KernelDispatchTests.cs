using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// FASTMLP_ISA and <see cref="KernelDispatch.Use"/>: a path the CPU lacks, or a name that is no path, is a clear
/// <see cref="KernelPathNotSupportedException"/> that names the available paths, never an illegal instruction, a silent
/// fallback or a TypeInitializationException (the process-level behaviour is checked by the CLI tests).
/// </summary>
public class KernelDispatchTests
{
    [Fact]
    public void An_unset_or_blank_variable_gives_the_best_path()
    {
        Assert.Equal((KernelDispatch.Best, (string?)null), KernelDispatch.FromEnvironment(null));
        Assert.Equal((KernelDispatch.Best, (string?)null), KernelDispatch.FromEnvironment("  "));
    }

    [Fact]
    public void Every_path_is_taken_when_supported_and_refused_with_the_available_ones_when_not()
    {
        string available = string.Join(", ", KernelDispatch.Available);
        foreach (KernelPath path in Enum.GetValues<KernelPath>())
        {
            string value = " " + path.ToString().ToUpperInvariant() + " ";
            var (chosen, error) = KernelDispatch.FromEnvironment(value);
            if (KernelDispatch.IsSupported(path))
            {
                Assert.Equal(path, chosen);
                Assert.Null(error);
                continue;
            }
            Assert.Equal($"FASTMLP_ISA={value} asks for a kernel path this CPU does not support; available: {available}.", error);
            var e = Assert.Throws<KernelPathNotSupportedException>(() => KernelDispatch.Use(path));
            Assert.Contains($"available: {available}", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_name_that_is_no_path_is_refused_with_the_names_there_are()
    {
        var (_, error) = KernelDispatch.FromEnvironment("avx9");
        Assert.NotNull(error);
        Assert.StartsWith("FASTMLP_ISA=avx9 names no kernel path (expected scalar, vector128, neon, avx2 or avx512;", error, StringComparison.Ordinal);
    }
}
