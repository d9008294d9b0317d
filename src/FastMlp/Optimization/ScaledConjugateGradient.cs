using FastMlp.Kernels;

namespace FastMlp.Optimization;

/// <summary>
/// Møller's scaled conjugate gradient (Neural Networks 6, 1993), in the form of Netlab's scg.m: conjugate
/// directions without a line search; the curvature along the direction p comes from a finite difference of the
/// gradient, s = (g(w + sigma p) - g(w)) / sigma, and a Levenberg-Marquardt scale lambda keeps the local
/// quadratic model positive definite and is raised or lowered by the comparison parameter Delta. Restarts along
/// the steepest descent direction every N successful steps (N = number of parameters).
/// </summary>
/// <remarks>Preallocated float buffers, <see cref="VectorOps"/> kernels; an iteration allocates nothing.</remarks>
public sealed class ScaledConjugateGradient : FullBatchSolver
{
    private const double Sigma0 = 1e-4, LambdaMin = 1e-15, LambdaMax = 1e100;
    private readonly float[] _x, _xNew, _d, _gNew, _gOld, _gTrial, _gPlus;

    /// <summary>Creates the solver; the options are validated here (the history setting is not used).</summary>
    public ScaledConjugateGradient(Objective objective, SolverOptions? options = null) : base(objective, options)
    {
        int n = objective.Length;
        _x = new float[n]; _xNew = new float[n]; _d = new float[n];
        _gNew = new float[n]; _gOld = new float[n]; _gTrial = new float[n]; _gPlus = new float[n];
    }

    /// <inheritdoc/>
    public override SolverResult Minimize(CancellationToken cancellationToken = default)
    {
        Objective obj = Objective;
        _historyCount = 0;
        long evals0 = obj.Evaluations;
        int parameters = obj.Network.ParameterCount;
        obj.Network.Parameters.CopyTo(_x);
        double fOld = obj.Evaluate(_x, _gNew);
        if (!double.IsFinite(fOld) || !VectorOps.AllFinite(_gNew))
            return Finish(SolverStop.Diverged, 0, obj.Evaluations - evals0, fOld, double.NaN);
        double gnorm = Math.Sqrt(VectorOps.Dot(_gNew, _gNew));
        Record(0, fOld, gnorm);
        VectorOps.Scale(-1f, _gNew, _d);
        double lambda = 1.0, mu = 0, kappa = 0, gamma = 0;
        bool success = true;
        int nSuccess = 0, k = 0;
        SolverStop stop = SolverStop.IterationLimit;
        int failures = 0;
        while (true)
        {
            if (gnorm <= Options.GradientTolerance) { stop = SolverStop.GradientTolerance; break; }
            if (k >= Options.MaxIterations || cancellationToken.IsCancellationRequested) { stop = SolverStop.IterationLimit; break; }
            k++;
            if (success)
            {
                mu = VectorOps.Dot(_d, _gNew);
                if (mu >= 0) { VectorOps.Scale(-1f, _gNew, _d); mu = VectorOps.Dot(_d, _gNew); }
                kappa = VectorOps.Dot(_d, _d);
                if (kappa < 1e-30) { stop = SolverStop.GradientTolerance; break; }
                double sigma = Sigma0 / Math.Sqrt(kappa);
                _x.CopyTo(_xNew);
                VectorOps.Axpy((float)sigma, _d, _xNew);
                obj.Evaluate(_xNew, _gPlus);
                VectorOps.Axpy(-1f, _gNew, _gPlus);
                gamma = VectorOps.Dot(_d, _gPlus) / sigma;
            }
            double delta = gamma + lambda * kappa;                 // curvature along d, scaled
            if (delta <= 0) { delta = lambda * kappa; lambda -= gamma / kappa; }
            double alpha = -mu / delta;
            _x.CopyTo(_xNew);
            VectorOps.Axpy((float)alpha, _d, _xNew);
            double fNew = obj.Evaluate(_xNew, _gTrial);
            double comparison = double.IsFinite(fNew) ? 2 * (fNew - fOld) / (alpha * mu) : -1;
            if (comparison >= 0 && fNew <= fOld)
            {
                success = true; nSuccess++; failures = 0;
                _xNew.CopyTo(_x);
                _gNew.CopyTo(_gOld);
                _gTrial.CopyTo(_gNew);
                double previous = fOld;
                fOld = fNew;
                gnorm = Math.Sqrt(VectorOps.Dot(_gNew, _gNew));
                Record(k, fOld, gnorm);
                if (Converged(previous, fNew, Options.LossTolerance))
                {
                    stop = SolverStop.LossChange; break;
                }
            }
            else
            {
                success = false;
                Record(k, fOld, gnorm);
                if (++failures > 50) { stop = SolverStop.LineSearchFailed; break; }
            }
            if (comparison < 0.25) lambda = Math.Min(4 * lambda, LambdaMax);
            if (comparison > 0.75) lambda = Math.Max(0.5 * lambda, LambdaMin);
            if (nSuccess == parameters) { VectorOps.Scale(-1f, _gNew, _d); nSuccess = 0; }
            else if (success)
            {
                // Hestenes-Stiefel / Polak-Ribiere factor as in scg.m: beta = (g_old - g_new).g_new / mu.
                double beta = (VectorOps.Dot(_gOld, _gNew) - VectorOps.Dot(_gNew, _gNew)) / mu;
                VectorOps.Scale((float)beta, _d, _d);
                VectorOps.Axpy(-1f, _gNew, _d);
            }
        }
        obj.SetPoint(_x);
        return Finish(stop, k, obj.Evaluations - evals0, fOld, gnorm);
    }
}
