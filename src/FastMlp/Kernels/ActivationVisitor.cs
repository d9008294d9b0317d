namespace FastMlp.Kernels;

/// <summary>Receives the element-wise operator of an activation as a struct type argument (one specialised body per operator).</summary>
internal interface IActivationVisitor
{
    /// <summary>Called once with the operator.</summary>
    void Visit<TOp>(TOp op) where TOp : struct, IUnaryOp;
}

/// <summary>Maps an <see cref="Activation"/> to its element-wise operator, in one place for every kernel that applies it in registers.</summary>
internal static class ActivationVisitor
{
    /// <summary>
    /// Calls <paramref name="visitor"/> with f's operator; softmax, a row operation the caller applies afterwards, and
    /// identity both get <see cref="NoActivationOp"/>.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Visit<TVisitor>(Activation f, ref TVisitor visitor) where TVisitor : struct, IActivationVisitor, allows ref struct
    {
        switch (f.Kind)
        {
            case ActivationKind.Relu: visitor.Visit(new ReluOp()); break;
            case ActivationKind.LeakyRelu: visitor.Visit(new LeakyReluOp(f.Parameter)); break;
            case ActivationKind.Sigmoid: visitor.Visit(new SigmoidOp()); break;
            case ActivationKind.Tanh: visitor.Visit(new TanhOp()); break;
            case ActivationKind.Step: visitor.Visit(new StepOp(0f)); break;
            case ActivationKind.BipolarStep: visitor.Visit(new StepOp(-1f)); break;
            case ActivationKind.Elu: visitor.Visit(new EluOp(f.Parameter)); break;
            case ActivationKind.Softplus: visitor.Visit(new SoftplusOp()); break;
            case ActivationKind.Identity:
            case ActivationKind.Softmax: visitor.Visit(new NoActivationOp()); break;
            default: throw new ArgumentOutOfRangeException(nameof(f), f, "Unknown activation.");
        }
    }
}
