namespace FastMlp.Optimization;

/// <summary>
/// Newton's method with the exact Hessian (<see cref="ExactHessian"/>, float64) for small networks: each iteration
/// solves (H + mu I) p = -g by Cholesky. mu starts at 0 (the pure Newton step); when H + mu I is not positive definite
/// or the step does not decrease the loss, mu is raised (Levenberg-Marquardt damping: mu = max(10 mu, 1e-3 mean|H_ii|))
/// and the solve repeated; after an accepted step mu is lowered tenfold (to 0 once it is negligible).
/// Networks above <see cref="ExactHessian.MaxParameters"/> parameters are refused.
/// </summary>
public sealed class Newton : FullBatchSolver
{
    private readonly ExactHessian _hessian;
    private readonly double[] _x, _g, _h, _a, _p, _xTrial;

    /// <summary>Creates the solver.</summary>
    /// <exception cref="ArgumentException">The network has more than <see cref="ExactHessian.MaxParameters"/> parameters, or an invalid option.</exception>
    public Newton(Objective objective, SolverOptions? options = null) : base(objective, options)
    {
        _hessian = new ExactHessian(objective);
        int n = _hessian.Count;
        _x = new double[n]; _g = new double[n]; _p = new double[n]; _xTrial = new double[n];
        _h = new double[n * n]; _a = new double[n * n];
    }

    /// <summary>The damping mu of each accepted step of the last <see cref="Minimize"/> (0: an undamped Newton step).</summary>
    public IReadOnlyList<double> Damping => _damping;
    private readonly List<double> _damping = [];

    /// <inheritdoc/>
    public override SolverResult Minimize(CancellationToken cancellationToken = default)
    {
        int n = _hessian.Count;
        _historyCount = 0;
        _damping.Clear();
        long evals = 0;
        _hessian.GetPoint(_x);
        double f = _hessian.Compute(_g, _h);
        evals++;
        double gnorm = Norm(_g);
        if (!double.IsFinite(f) || !double.IsFinite(gnorm))
            return Finish(SolverStop.Diverged, 0, evals, f, gnorm);
        Record(0, f, gnorm);
        double mu = 0;
        SolverStop stop = SolverStop.IterationLimit;
        int k = 0;
        while (true)
        {
            if (gnorm <= Options.GradientTolerance) { stop = SolverStop.GradientTolerance; break; }
            if (k >= Options.MaxIterations || cancellationToken.IsCancellationRequested) { stop = SolverStop.IterationLimit; break; }
            double scale = 0;
            for (int i = 0; i < n; i++) scale += Math.Abs(_h[i * n + i]);
            scale = Math.Max(scale / n, 1e-12);
            bool accepted = false;
            double fTrial = f;
            for (int attempt = 0; attempt < 60 && !accepted; attempt++)
            {
                Array.Copy(_h, _a, n * n);
                for (int i = 0; i < n; i++) _a[i * n + i] += mu;
                if (!Cholesky(_a, n)) { mu = Math.Max(10 * mu, 1e-3 * scale); continue; }
                for (int i = 0; i < n; i++) _p[i] = -_g[i];
                Solve(_a, n, _p);
                for (int i = 0; i < n; i++) _xTrial[i] = _x[i] + _p[i];
                _hessian.SetPoint(_xTrial);
                fTrial = _hessian.Loss();
                evals++;
                if (double.IsFinite(fTrial) && fTrial <= f) accepted = true;
                else mu = Math.Max(10 * mu, 1e-3 * scale);
            }
            if (!accepted)
            {
                _hessian.SetPoint(_x);
                stop = SolverStop.LineSearchFailed;
                break;
            }
            k++;
            _damping.Add(mu);
            Array.Copy(_xTrial, _x, n);
            double fOld = f;
            f = _hessian.Compute(_g, _h);
            evals++;
            gnorm = Norm(_g);
            Record(k, f, gnorm);
            mu = mu < 1e-6 * scale ? 0 : mu / 10;
            if (Converged(fOld, f, Options.LossTolerance)) { stop = SolverStop.LossChange; break; }
        }
        return Finish(stop, k, evals, f, gnorm);
    }

    private static double Norm(ReadOnlySpan<double> v)
    {
        double s = 0;
        foreach (double x in v) s += x * x;
        return Math.Sqrt(s);
    }

    /// <summary>In-place Cholesky A = L L^T (lower triangle); false when A is not (numerically) positive definite.</summary>
    internal static bool Cholesky(double[] a, int n)
    {
        for (int j = 0; j < n; j++)
        {
            double d = a[j * n + j];
            for (int k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
            if (!(d > 0) || !double.IsFinite(d)) return false;
            d = Math.Sqrt(d);
            a[j * n + j] = d;
            for (int i = j + 1; i < n; i++)
            {
                double s = a[i * n + j];
                for (int k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
                a[i * n + j] = s / d;
            }
        }
        return true;
    }

    /// <summary>Solves L L^T x = b in place (b becomes x).</summary>
    internal static void Solve(double[] l, int n, double[] b)
    {
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++) s -= l[i * n + k] * b[k];
            b[i] = s / l[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
            b[i] = s / l[i * n + i];
        }
    }
}
