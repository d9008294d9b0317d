using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// Which peers load on this machine. Program probes each one in the host process before any benchmark runs; a
/// peer that does not load is filtered out (its benchmark methods carry its name as a BenchmarkCategory) and the
/// reason is printed at the start and again at the end of the run, so a missing peer is never silent. A peer that
/// loads but disagrees with FastMlp is not skipped: its GlobalSetup throws and the run fails.
/// </summary>
internal static class PeerAvailability
{
    public const string Torch = "TorchSharp", Onnx = "OnnxRuntime", Blas = "OpenBLAS", FannPeer = "FANN";

    /// <summary>Peer name -> why it cannot run here (absent when it can).</summary>
    public static Dictionary<string, string> ProbeAll()
    {
        var skipped = new Dictionary<string, string>();
        Probe(skipped, Torch, () => TorchMlp.Describe());
        Probe(skipped, Onnx, ProbeOnnx);
        Probe(skipped, Blas, () =>
        {
            if (!NativeLibrary.TryLoad(OpenBlas.Library, typeof(OpenBlas).Assembly, null, out _))
                throw new DllNotFoundException($"{OpenBlas.Library} not found (apt-get install -y libopenblas-dev)");
            return OpenBlas.Describe();
        });
        Probe(skipped, FannPeer, () =>
        {
            if (!NativeLibrary.TryLoad(FannNative.Library, typeof(FannNative).Assembly, null, out _))
                throw new DllNotFoundException($"{FannNative.Library} not found (apt-get install -y libfann-dev)");
            return $"FANN 2.2 ({FannNative.Library})";
        });
        return skipped;
    }

    private static string ProbeOnnx()
    {
        using var options = new SessionOptions();
        using var session = new InferenceSession(OnnxModel.Build(Architectures.Build(Architectures.Tiny)), options);
        return $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}";
    }

    private static void Probe(Dictionary<string, string> skipped, string peer, Func<string> describe)
    {
        try
        {
            Console.WriteLine($"// peer {peer}: loads: {describe()}");
        }
        catch (Exception e)
        {
            var inner = e;
            while (inner.InnerException is not null) inner = inner.InnerException;
            skipped[peer] = $"{e.GetType().Name}: {inner.Message.ReplaceLineEndings(" ")}";
            Console.WriteLine($"// peer {peer}: SKIPPED, does not load on this machine: {skipped[peer]}");
        }
    }
}
