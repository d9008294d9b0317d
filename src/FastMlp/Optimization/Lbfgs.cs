using FastMlp.Kernels;

namespace FastMlp.Optimization;

/// <summary>
/// Limited-memory BFGS (Nocedal &amp; Wright, Algorithm 7.4/7.5): the search direction -H g from the two-loop
/// recursion over the last <see cref="SolverOptions.History"/> pairs s = w_new - w_old, y = g_new - g_old, with the
/// initial scaling gamma = s.y / y.y, and a step length satisfying the strong Wolfe conditions
/// (c1 = 1e-4, c2 = 0.9; bracketing and zoom with safeguarded cubic interpolation, Algorithms 3.5 and 3.6).
/// </summary>
/// <remarks>All vectors live in preallocated float buffers of the flat parameter layout and are updated with the
/// <see cref="VectorOps"/> kernels (dot, axpy, scale); an iteration allocates nothing.</remarks>
public sealed class Lbfgs : FullBatchSolver
{
    private const double C1 = 1e-4, C2 = 0.9;
    private readonly float[][] _s, _y;
    private readonly double[] _rho, _alpha;
    private readonly float[] _x, _g, _d, _x0, _g0;
    private int _count, _newest;

    /// <summary>Creates the solver; the options are validated here.</summary>
    /// <exception cref="ArgumentException">An invalid option (e.g. a history of 0 or a negative tolerance).</exception>
    public Lbfgs(Objective objective, SolverOptions? options = null) : base(objective, options)
    {
        int n = objective.Length, m = Options.History;
        _s = new float[m][];
        _y = new float[m][];
        for (int i = 0; i < m; i++) { _s[i] = new float[n]; _y[i] = new float[n]; }
        _rho = new double[m];
        _alpha = new double[m];
        _x = new float[n]; _g = new float[n]; _d = new float[n]; _x0 = new float[n]; _g0 = new float[n];
    }

    /// <inheritdoc/>
    public override SolverResult Minimize(CancellationToken cancellationToken = default)
    {
        Objective obj = Objective;
        _count = 0; _newest = -1; _historyCount = 0;
        long evals0 = obj.Evaluations;
        obj.Network.Parameters.CopyTo(_x);
        double f = obj.Evaluate(_x, _g);
        if (!double.IsFinite(f) || !VectorOps.AllFinite(_g))
            return Finish(SolverStop.Diverged, 0, obj.Evaluations - evals0, f, double.NaN);
        double gnorm = Math.Sqrt(VectorOps.Dot(_g, _g));
        Record(0, f, gnorm);
        SolverStop stop = SolverStop.IterationLimit;
        int k = 0;
        while (true)
        {
            if (gnorm <= Options.GradientTolerance) { stop = SolverStop.GradientTolerance; break; }
            if (k >= Options.MaxIterations || cancellationToken.IsCancellationRequested) { stop = SolverStop.IterationLimit; break; }

            Direction();
            double dphi0 = VectorOps.Dot(_g, _d);
            if (!(dphi0 < 0))
            {
                _count = 0;                              // not a descent direction: forget the curvature pairs
                VectorOps.Scale(-1f, _g, _d);
                dphi0 = -gnorm * gnorm;
            }
            double step = _count == 0 ? Math.Min(1.0, 1.0 / gnorm) : 1.0;
            _x.CopyTo(_x0); _g.CopyTo(_g0);
            double f0 = f;
            double a = LineSearch(f0, dphi0, step, out f);
            if (a <= 0)
            {
                _x0.CopyTo(_x); _g0.CopyTo(_g); f = f0;
                obj.SetPoint(_x);
                if (_count > 0) { _count = 0; continue; }   // retry once along steepest descent
                stop = SolverStop.LineSearchFailed;
                break;
            }
            k++;
            // s = x - x0, y = g - g0 into the next history slot.
            int slot = (_newest + 1) % _s.Length;
            float[] s = _s[slot], y = _y[slot];
            _x.CopyTo(s); VectorOps.Axpy(-1f, _x0, s);
            _g.CopyTo(y); VectorOps.Axpy(-1f, _g0, y);
            double sy = VectorOps.Dot(s, y), yy = VectorOps.Dot(y, y);
            if (sy > 1e-10 * yy && yy > 0)
            {
                _rho[slot] = 1.0 / sy;
                _newest = slot;
                _count = Math.Min(_count + 1, _s.Length);
            }
            gnorm = Math.Sqrt(VectorOps.Dot(_g, _g));
            Record(k, f, gnorm);
            if (Converged(f0, f, Options.LossTolerance)) { stop = SolverStop.LossChange; break; }
        }
        obj.SetPoint(_x);
        return Finish(stop, k, obj.Evaluations - evals0, f, gnorm);
    }

    /// <summary>Two-loop recursion: d = -H g.</summary>
    private void Direction()
    {
        int m = _s.Length;
        VectorOps.Scale(-1f, _g, _d);
        if (_count == 0) return;
        for (int i = 0, j = _newest; i < _count; i++, j = (j - 1 + m) % m)
        {
            _alpha[j] = _rho[j] * VectorOps.Dot(_s[j], _d);
            VectorOps.Axpy((float)-_alpha[j], _y[j], _d);
        }
        float[] yn = _y[_newest];
        double gamma = 1.0 / (_rho[_newest] * VectorOps.Dot(yn, yn));
        VectorOps.Scale((float)gamma, _d, _d);
        int oldest = (_newest - _count + 1 + m) % m;
        for (int i = 0, j = oldest; i < _count; i++, j = (j + 1) % m)
        {
            double beta = _rho[j] * VectorOps.Dot(_y[j], _d);
            VectorOps.Axpy((float)(_alpha[j] - beta), _s[j], _d);
        }
    }

    /// <summary>phi(a) = J(x0 + a d) and phi'(a) = g.d; leaves x, g at the evaluated point.</summary>
    private double Phi(double a, out double dphi)
    {
        _x0.CopyTo(_x);
        VectorOps.Axpy((float)a, _d, _x);
        double f = Objective.Evaluate(_x, _g);
        dphi = VectorOps.Dot(_g, _d);
        if (!double.IsFinite(f) || !double.IsFinite(dphi)) { dphi = double.NaN; return double.PositiveInfinity; }
        return f;
    }

    /// <summary>Strong-Wolfe line search; returns the step (x, g, f at it) or 0 when none decreased the loss.</summary>
    private double LineSearch(double phi0, double dphi0, double a, out double f)
    {
        double aPrev = 0, phiPrev = phi0, dphiPrev = dphi0;
        int evals = 0;
        while (evals < Options.MaxLineSearchSteps)
        {
            double phi = Phi(a, out double dphi);
            evals++;
            if (double.IsInfinity(phi))
            {
                a = aPrev + 0.5 * (a - aPrev);            // overflow: step back towards the last good point
                continue;
            }
            if (phi > phi0 + C1 * a * dphi0 || (evals > 1 && phi >= phiPrev))
                return Zoom(phi0, dphi0, aPrev, phiPrev, dphiPrev, a, phi, dphi, evals, out f);
            if (Math.Abs(dphi) <= -C2 * dphi0) { f = phi; return a; }
            if (dphi >= 0)
                return Zoom(phi0, dphi0, a, phi, dphi, aPrev, phiPrev, dphiPrev, evals, out f);
            aPrev = a; phiPrev = phi; dphiPrev = dphi;
            a *= 2;
        }
        return Fallback(phi0, aPrev, phiPrev, out f);
    }

    private double Zoom(double phi0, double dphi0, double lo, double phiLo, double dphiLo, double hi, double phiHi, double dphiHi, int evals, out double f)
    {
        while (evals < Options.MaxLineSearchSteps)
        {
            double a = Interpolate(lo, phiLo, dphiLo, hi, phiHi, dphiHi);
            double phi = Phi(a, out double dphi);
            evals++;
            if (double.IsInfinity(phi) || phi > phi0 + C1 * a * dphi0 || phi >= phiLo)
            {
                hi = a; phiHi = phi; dphiHi = dphi;
            }
            else
            {
                if (Math.Abs(dphi) <= -C2 * dphi0) { f = phi; return a; }
                if (dphi * (hi - lo) >= 0) { hi = lo; phiHi = phiLo; dphiHi = dphiLo; }
                lo = a; phiLo = phi; dphiLo = dphi;
            }
            if (Math.Abs(hi - lo) <= 1e-12 * Math.Max(1, Math.Abs(lo))) break;
        }
        return Fallback(phi0, lo, phiLo, out f);
    }

    /// <summary>Out of evaluations: accept the best point with a sufficient decrease seen, if any.</summary>
    private double Fallback(double phi0, double a, double phiA, out double f)
    {
        if (a > 0 && phiA < phi0)
        {
            f = Phi(a, out _);
            return a;
        }
        f = phi0;
        return 0;
    }

    /// <summary>Minimiser of the cubic through both end points (values and slopes), kept inside the middle 80 % of the bracket; bisection otherwise.</summary>
    private static double Interpolate(double a, double fa, double ga, double b, double fb, double gb)
    {
        double lo = Math.Min(a, b), hi = Math.Max(a, b), width = hi - lo;
        double mid = 0.5 * (a + b);
        if (!double.IsFinite(fb) || !double.IsFinite(gb) || !double.IsFinite(fa) || !double.IsFinite(ga)) return mid;
        double d1 = ga + gb - 3 * (fa - fb) / (a - b);
        double disc = d1 * d1 - ga * gb;
        if (disc < 0) return mid;
        double d2 = Math.Sign(b - a) * Math.Sqrt(disc);
        double t = b - (b - a) * (gb + d2 - d1) / (gb - ga + 2 * d2);
        return double.IsFinite(t) && t >= lo + 0.1 * width && t <= hi - 0.1 * width ? t : mid;
    }
}
