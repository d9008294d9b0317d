using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using FastMlp;
using FastMlp.Kernels;

// Kernel self-check: runs every element-wise kernel, softmax, optimizer, level-1 operation, the three GEMMs and the
// one-sample paths (Network.Predict, FrozenNetwork) on the best kernel path of this CPU (or the one named by
// FASTMLP_ISA) and compares it with the scalar reference path on random sizes, then sweeps the vector math over
// every 2^12-th float bit pattern against float64 Math.
// Made to run under qemu-aarch64-static for the NEON path (see .ci/run); exits 1 on any mismatch.
// Usage: KernelSelfCheck [--require-neon]
bool requireNeon = args.Contains("--require-neon");
KernelPath path = KernelDispatch.Current;
Console.WriteLine($"architecture {RuntimeInformation.ProcessArchitecture}, AdvSimd.IsSupported {AdvSimd.IsSupported}, " +
    $"AdvSimd.Arm64.IsSupported {AdvSimd.Arm64.IsSupported}, KernelDispatch.Current {path}, available [{string.Join(", ", KernelDispatch.Available)}]");
int failures = 0;
if (requireNeon && !(AdvSimd.IsSupported && path == KernelPath.Neon))
{
    Console.WriteLine("FAIL: --require-neon but AdvSimd is not supported or the dispatcher did not pick Neon");
    failures++;
}

var rnd = new Random(20261123);
float[] Rand(int n, float scale) { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() * 2 - 1) * scale; return a; }
float[] Abs(float[] a) => a.Select(Math.Abs).ToArray();

void Compare(string what, float[] expected, float[] actual, double rel, double abs)
{
    for (int i = 0; i < expected.Length; i++)
    {
        double e = expected[i], a = actual[i];
        bool ok = double.IsNaN(e) ? double.IsNaN(a) : double.IsInfinity(e) ? e == a : Math.Abs(a - e) <= abs + rel * Math.Abs(e);
        if (!ok)
        {
            if (failures < 20) Console.WriteLine($"FAIL {what} [{i}/{expected.Length}]: scalar {e:R}, {path} {a:R}");
            failures++;
            return;
        }
    }
}

int[] sizes = [.. Enumerable.Range(0, 64), .. Enumerable.Range(0, 40).Select(_ => rnd.Next(64, 3000))];
Activation[] activations = [Activation.Sigmoid, Activation.Tanh, Activation.Relu, Activation.LeakyRelu(0.1f), Activation.Elu(0.7f),
    Activation.Softplus, Activation.Step, Activation.BipolarStep, Activation.Identity];
int checks = 0;
foreach (int n in sizes)
{
    float[] x = Rand(n, 20f);
    if (n > 4) { x[0] = float.NaN; x[1] = float.PositiveInfinity; x[2] = float.NegativeInfinity; x[3] = -0f; x[4] = -95f; }
    foreach (Activation a in activations)
    {
        float[] s = (float[])x.Clone(), v = (float[])x.Clone();
        ActivationKernels.Apply(KernelPath.Scalar, a, s, Math.Max(n, 1));
        ActivationKernels.Apply(path, a, v, Math.Max(n, 1));
        Compare($"{a} n={n}", s, v, 3.5e-7, 3 * (double)float.Epsilon);
        if (a.Kind is not (ActivationKind.Step or ActivationKind.BipolarStep))
        {
            float[] y = Rand(n, 3f);
            ActivationKernels.Apply(KernelPath.Scalar, a, y, Math.Max(n, 1));
            float[] ds = Rand(n, 1f), dv = (float[])ds.Clone();
            ActivationKernels.MultiplyDerivative(KernelPath.Scalar, a, y, ds);
            ActivationKernels.MultiplyDerivative(path, a, y, dv);
            Compare($"{a}' n={n}", ds, dv, 1e-6, 1e-12);
        }
        checks += 2;
    }
    int width = Math.Max(1, Math.Min(n, 1 + rnd.Next(70)));
    int rows = n / width;
    {
        float[] s = Rand(rows * width, 20f), v = (float[])s.Clone();
        if (rows > 1) s[width] = v[width] = float.PositiveInfinity;
        if (rows > 2) s[2 * width + width / 2] = v[2 * width + width / 2] = float.NaN; // a NaN row must come out all NaN
        ActivationKernels.Softmax(KernelPath.Scalar, s, width);
        ActivationKernels.Softmax(path, v, width);
        Compare($"softmax {rows}x{width}", s, v, 8e-6, 1e-30);
        checks++;
    }
    // optimizers
    float[] p = Rand(n, 1f), g = Rand(n, 1f), m = Rand(n, 0.1f), h = Abs(Rand(n, 0.1f));
    void Opt(string name, Action<KernelPath, float[], float[], float[], float[]> step)
    {
        float[] ps = (float[])p.Clone(), ms = (float[])m.Clone(), hs = (float[])h.Clone();
        float[] pv = (float[])p.Clone(), mv = (float[])m.Clone(), hv = (float[])h.Clone();
        step(KernelPath.Scalar, ps, g, ms, hs);
        step(path, pv, g, mv, hv);
        Compare($"{name} p n={n}", ps, pv, 1e-5, 1e-6);
        Compare($"{name} s1 n={n}", ms, mv, 1e-5, 1e-7);
        Compare($"{name} s2 n={n}", hs, hv, 1e-5, 1e-7);
        checks++;
    }
    Opt("sgd", (k, P, G, M, H) => OptimizerKernels.Sgd(k, P, G, 0.01f));
    Opt("momentum", (k, P, G, M, H) => OptimizerKernels.Momentum(k, P, G, M, 0.01f, 0.9f));
    Opt("adagrad", (k, P, G, M, H) => OptimizerKernels.AdaGrad(k, P, G, H, 0.01f, 1e-7f));
    Opt("rmsprop", (k, P, G, M, H) => OptimizerKernels.RmsProp(k, P, G, H, 0.01f, 0.9f, 1e-7f));
    Opt("adam", (k, P, G, M, H) => OptimizerKernels.Adam(k, P, G, M, H, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.19f, 0.002f));
    // level 1
    float[] xs = Rand(n, 1f), ys = Rand(n, 1f);
    double bound = 1e-5 * (n + 1);
    Compare($"dot n={n}", [VectorOps.Dot(KernelPath.Scalar, xs, ys)], [VectorOps.Dot(path, xs, ys)], 0, bound);
    Compare($"sum n={n}", [VectorOps.Sum(KernelPath.Scalar, xs)], [VectorOps.Sum(path, xs)], 0, bound);
    if (VectorOps.AllFinite(path, xs) != true) { Console.WriteLine($"FAIL AllFinite n={n}"); failures++; }
    if (n > 0) { xs[rnd.Next(n)] = float.NaN; if (VectorOps.AllFinite(path, xs)) { Console.WriteLine($"FAIL AllFinite(NaN) n={n}"); failures++; } }
    checks += 3;
}

// Long softmax rows (several chunks, a tail, +Inf in a later chunk, in place) against the scalar path.
foreach (int width in new[] { 4096, 3 * 2048 + 37, 5 * 2048 + 3 })
{
    float[] s = Rand(2 * width, 20f);
    for (int i = 0; i < width; i++) s[i] += (i / 1000 % 4) * -30f;   // chunk maxima far apart
    s[width + 2048 + 5] = float.PositiveInfinity;
    float[] v = (float[])s.Clone(), o = new float[s.Length];
    ActivationKernels.Softmax(path, s, o, width);
    ActivationKernels.Softmax(KernelPath.Scalar, s, width);
    ActivationKernels.Softmax(path, v, width);
    Compare($"softmax 2x{width}", s, v, 8e-6, 1e-30);
    Compare($"softmax 2x{width} out of place", v, o, 0, 0);
    checks += 2;
}

// GEMMs through their internal entry points, switched with KernelDispatch.Use: random small shapes, then shapes that cross
// every block of the blocked kernels on every path (outer product: A blocks of 256 / 126 / 64 rows, B column blocks of
// 1024 / 512 / 256, reduction chunks of 128 / 256 / 512 on Avx512 / Avx2 / 4-float; Forward: packed X blocks of ~60 rows at
// 1061 inputs), none of whose sizes is a multiple of a tile, a vector or a block.
void CheckGemm(int rows, int inputs, int outputs)
{
    float[] x = Rand(rows * inputs, 1f), w = Rand(outputs * inputs, 1f), b = Rand(outputs, 1f), dy = Rand(rows * outputs, 1f);
    float[] dw0 = Rand(outputs * inputs, 5f), db0 = Rand(outputs, 5f);
    float[][] Run(KernelPath k)
    {
        KernelDispatch.Use(k);
        float[] y = new float[rows * outputs], dx = new float[rows * inputs], dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        float[] dwAcc = (float[])dw0.Clone(), dbAcc = (float[])db0.Clone();
        Gemm.Forward(x, w, b, y, rows, inputs, outputs);
        Gemm.InputGradient(dy, w, dx, rows, inputs, outputs);
        Gemm.WeightGradient(dy, x, dw, db, rows, inputs, outputs, accumulate: false);
        Gemm.WeightGradient(dy, x, dwAcc, dbAcc, rows, inputs, outputs, accumulate: true);
        return [y, dx, dw, db, dwAcc, dbAcc];
    }
    float[][] s = Run(KernelPath.Scalar), v = Run(path);
    KernelDispatch.Use(path);
    string shape = $"{rows}x{inputs}->{outputs}";
    Compare($"gemm forward {shape}", s[0], v[0], 0, 1e-5 * inputs);
    Compare($"gemm input-gradient {shape}", s[1], v[1], 0, 1e-5 * outputs);
    Compare($"gemm weight-gradient {shape}", s[2], v[2], 0, 1e-5 * rows);
    Compare($"gemm bias-gradient {shape}", s[3], v[3], 0, 1e-5 * rows);
    Compare($"gemm weight-gradient (accumulate) {shape}", s[4], v[4], 0, 1e-5 * (rows + 5));
    Compare($"gemm bias-gradient (accumulate) {shape}", s[5], v[5], 0, 1e-5 * (rows + 5));
    checks += 6;
}
for (int t = 0; t < 60; t++)
    CheckGemm(1 + rnd.Next(40), 1 + rnd.Next(90), 1 + rnd.Next(40));
CheckGemm(270, 1061, 140);
CheckGemm(70, 300, 530);
CheckGemm(530, 300, 70);

// One sample through whole networks: Network.Predict's row-major GEMV path and FrozenNetwork's transposed panels
// (several passes of output vectors past 64 outputs, softmax in registers up to one vector, the row kernel beyond).
Activation[] hiddenKinds = [Activation.Relu, Activation.Tanh, Activation.Sigmoid, Activation.LeakyRelu(0.1f), Activation.Identity];
for (int t = 0; t < 40; t++)
{
    int inputs = 1 + rnd.Next(90), hidden = 1 + rnd.Next(t < 20 ? 40 : 150), outputs = 2 + rnd.Next(t % 2 == 0 ? 15 : 80);
    Activation output = t % 3 == 0 ? Activation.Identity : Activation.Softmax;
    var net = new Network(inputs, new LayerSpec(hidden, hiddenKinds[t % hiddenKinds.Length]), new LayerSpec(outputs, output));
    net.Initialize(t);
    FrozenNetwork frozen = net.Freeze();
    float[] x = Rand(inputs, 1f);
    float[] Predict(KernelPath k)
    {
        float[] y = new float[outputs];
        OneSampleForward.Run(k, net.LayerArray, net.Parameters, x, y, new float[hidden], new float[hidden]);
        return y;
    }
    float[] Frozen(KernelPath k)
    {
        float[] y = new float[outputs];
        frozen.Run(k, x, y);
        return y;
    }
    string shape = $"{inputs}-{hidden}-{outputs} {output}";
    Compare($"predict {shape}", Predict(KernelPath.Scalar), Predict(path), 1e-5, 1e-6 * (inputs + hidden));
    Compare($"frozen predict {shape}", Frozen(KernelPath.Scalar), Frozen(path), 1e-5, 1e-6 * (inputs + hidden));
    checks += 2;
}

// Accuracy sweep of the vector math on this path.
{
    var list = new List<float>();
    for (long bits = 0; bits <= uint.MaxValue; bits += 1L << 12) list.Add(BitConverter.UInt32BitsToSingle((uint)bits));
    float[] xs = [.. list, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 88.72f, 88.73f, -87.3f, -103.9f, -104f];
    double Expm1(double v) => Math.Abs(v) < 1e-5 ? v + v * v / 2 + v * v * v / 6 : Math.Exp(v) - 1;
    double Log1p(double t) { double u = 1 + t; return u == 1 ? t : Math.Log(u) * t / (u - 1); }
    void Sweep(string name, Func<float[], float[], int> run, Func<double, double> reference)
    {
        float[] y = new float[xs.Length];
        run(xs, y);
        double worst = 0; float at = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            double r = reference(xs[i]), err;
            if (double.IsNaN(r)) err = float.IsNaN(y[i]) ? 0 : 1;
            else if (Math.Abs(r) > float.MaxValue) err = float.IsInfinity(y[i]) && Math.Sign(y[i]) == Math.Sign(r) ? 0 : 1;
            else if (Math.Abs(r) < 1.17549435E-38) err = Math.Abs(y[i] - r) <= 2 * (double)float.Epsilon ? 0 : 1;
            else err = Math.Abs(y[i] - r) / Math.Abs(r);
            if (!(err <= worst)) { worst = double.IsNaN(err) ? 1 : err; at = xs[i]; }
        }
        bool ok = worst <= 3e-7;
        Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {path} {name}: max relative error {worst:E3} at x = {at:R} ({xs.Length} inputs)");
        if (!ok) failures++;
    }
    Sweep("exp", (a, b) => { ActivationKernels.Unary(path, new ExpOp(), a, b); return 0; }, Math.Exp);
    Sweep("sigmoid", (a, b) => { ActivationKernels.Unary(path, new SigmoidOp(), a, b); return 0; },
        v => v >= 0 ? 1 / (1 + Math.Exp(-v)) : Math.Exp(v) / (1 + Math.Exp(v)));
    Sweep("tanh", (a, b) => { ActivationKernels.Unary(path, new TanhOp(), a, b); return 0; }, Math.Tanh);
    Sweep("softplus", (a, b) => { ActivationKernels.Unary(path, new SoftplusOp(), a, b); return 0; },
        v => double.IsNaN(v) ? v : Math.Max(v, 0) + Log1p(Math.Exp(-Math.Abs(v))));
    Sweep("elu(a=1)", (a, b) => { ActivationKernels.Unary(path, new EluOp(1f), a, b); return 0; }, v => v > 0 ? v : Expm1(v));
}

Console.WriteLine(failures == 0 ? $"PASS: {checks} comparisons of {path} against the scalar reference" : $"FAILED: {failures} mismatches");
return failures == 0 ? 0 : 1;
