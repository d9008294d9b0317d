using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// The same network in TorchSharp: nn.Linear / nn.ReLU stack with FastMlp's weights copied in (W is [out x in] in
/// both), softmax applied to the logits for inference, cross_entropy (softmax + NLL, mean over the batch) and plain
/// SGD for training, as FastMlp's Trainer with SgdOptimizer does.
/// </summary>
internal sealed class TorchMlp : IDisposable
{
    private readonly Sequential _model;
    private readonly List<Linear> _linears = [];
    private readonly Tensor[] _initial;
    private torch.optim.Optimizer? _sgd;

    public TorchMlp(Network net)
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        using (torch.no_grad())
        {
            for (int l = 0; l < net.Layers.Count; l++)
            {
                var layer = net.Layers[l];
                var linear = nn.Linear(layer.Inputs, layer.Outputs);
                using var w = torch.tensor(PeerArchitectures.Flat(net.Weights(l)), [layer.Outputs, layer.Inputs]);
                using var b = torch.tensor(net.Biases(l).ToArray(), [layer.Outputs]);
                linear.weight!.copy_(w);
                linear.bias!.copy_(b);
                _linears.Add(linear);
                modules.Add(($"fc{l}", linear));
                if (l < net.Layers.Count - 1) modules.Add(($"relu{l}", nn.ReLU()));
            }
        }
        _model = nn.Sequential(modules);
        _initial = _model.parameters().Select(p => p.detach().clone()).ToArray();
    }

    /// <summary>torch.set_num_threads / set_num_interop_threads (interop only once per process, as libtorch requires).</summary>
    public static void SetThreads(int threads)
    {
        torch.set_num_threads(threads);
    }

    /// <summary>softmax(model(x)) under no_grad, copied into <paramref name="output"/>.</summary>
    public void Predict(Tensor x, float[] output)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var y = nn.functional.softmax(_model.forward(x), 1);
        y.data<float>().CopyTo(output);
    }

    /// <summary>One SGD step (zero_grad, forward, cross-entropy, backward, step); returns the loss.</summary>
    public float Step(Tensor x, Tensor labels, float learningRate)
    {
        _sgd ??= torch.optim.SGD(_model.parameters(), learningRate);
        using var scope = torch.NewDisposeScope();
        _sgd.zero_grad();
        var loss = nn.functional.cross_entropy(_model.forward(x), labels);
        loss.backward();
        _sgd.step();
        return loss.item<float>();
    }

    /// <summary>Copies the initial parameters back (the train-step benchmarks restore them every 1000 steps).</summary>
    public void Restore()
    {
        using var noGrad = torch.no_grad();
        int k = 0;
        foreach (var p in _model.parameters()) p.copy_(_initial[k++]);
    }

    /// <summary>Weights of layer <paramref name="layer"/> as [out x in] row-major floats.</summary>
    public float[] Weights(int layer) => _linears[layer].weight!.data<float>().ToArray();

    public void Dispose()
    {
        _sgd?.Dispose();
        foreach (var t in _initial) t.Dispose();
        _model.Dispose();
    }

    /// <summary>"TorchSharp 0.107.0.0, libtorch 2.10.0, CPU capability AVX512, ..." for the log and the reports.</summary>
    public static string Describe()
    {
        string torchSharp = typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
        return $"TorchSharp {torchSharp}, libtorch {torch.__version__}, CPU capability {CpuCapability()}, " +
               $"intra-op threads {torch.get_num_threads()}, MKL {LibTorchBool("_ZN2at7Context6hasMKLEv")}, oneDNN {LibTorchBool("_ZN2at7Context9hasMKLDNNEv")}";
    }

    /// <summary>
    /// at::get_cpu_capability() from libtorch_cpu.so: a C++ function returning std::string (libstdc++ cxx11 ABI:
    /// returned through a hidden pointer to a 32-byte {char* data; size_t length; char buffer[16]}). TorchSharp does
    /// not expose it; the string is what PyTorch's torch.backends.cpu.get_cpu_capability() returns.
    /// </summary>
    public static unsafe string CpuCapability()
    {
        try
        {
            nint lib = LoadLibTorchCpu();
            var f = (delegate* unmanaged<byte*, byte*>)NativeLibrary.GetExport(lib, "_ZN2at18get_cpu_capabilityB5cxx11Ev");
            byte* s = stackalloc byte[64];
            f(s);
            byte* data = *(byte**)s;
            long length = *(long*)(s + 8);
            return Marshal.PtrToStringUTF8((nint)data, (int)length); // heap copy (if any) leaked once: a few bytes
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return $"unknown ({e.GetType().Name})";
        }
    }

    private static unsafe string LibTorchBool(string symbol)
    {
        try
        {
            // at::Context::hasMKL() and hasMKLDNN() are static members: no this pointer.
            var f = (delegate* unmanaged<byte>)NativeLibrary.GetExport(LoadLibTorchCpu(), symbol);
            return f() != 0 ? "yes" : "no";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return "unknown";
        }
    }

    private static nint LoadLibTorchCpu()
    {
        _ = torch.get_num_threads(); // make sure TorchSharp has loaded libtorch
        string local = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libtorch_cpu.so");
        return NativeLibrary.Load(File.Exists(local) ? local : "libtorch_cpu.so");
    }
}
