namespace Remix.Models.Kernels;

/// <summary>
/// A vector of floats of one width, for kernels written once as generic methods over it: the JIT compiles each width
/// (<see cref="FloatVector128"/>, <see cref="FloatVector256"/>, <see cref="FloatVector512"/>) on its own, with no
/// virtual calls. Each lane's arithmetic is IEEE float32 (fused where named), so a lane's result does not depend
/// on the width; only horizontal sums (<see cref="Sum"/>) add in a width's own order.
/// </summary>
internal unsafe interface IFloatVector<TSelf> where TSelf : unmanaged, IFloatVector<TSelf>
{
    /// <summary>Floats per vector.</summary>
    static abstract int Lanes { get; }

    /// <summary>Bits per vector: 128, 256 or 512.</summary>
    static abstract int Bits { get; }

    /// <summary>Whether .NET runs this width on vector instructions here (otherwise it is emulated: right, but slow).</summary>
    static abstract bool IsHardwareAccelerated { get; }

    static abstract TSelf Zero { get; }
    static abstract TSelf One { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary><see cref="Lanes"/> floats from <paramref name="source"/> (any alignment).</summary>
    static abstract TSelf Load(float* source);

    /// <summary>Writes the lanes to <paramref name="destination"/> (any alignment).</summary>
    void Store(float* destination);

    static abstract TSelf operator +(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a, TSelf b);
    static abstract TSelf operator *(TSelf a, TSelf b);
    static abstract TSelf operator /(TSelf a, TSelf b);
    static abstract TSelf operator -(TSelf a);

    /// <summary>a·b + c, rounded once.</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf a, TSelf b, TSelf c);

    static abstract TSelf Min(TSelf a, TSelf b);
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>Each lane rounded to the nearest integer, ties to even.</summary>
    static abstract TSelf Round(TSelf x);

    /// <summary>The square root of each lane, correctly rounded (IEEE), as <see cref="MathF.Sqrt"/>.</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>All bits set in the lanes where a &lt; b, zero elsewhere: a mask for <see cref="ConditionalSelect"/>.</summary>
    static abstract TSelf LessThan(TSelf a, TSelf b);

    /// <summary>All bits set in the first <paramref name="count"/> lanes, zero after: a mask for <see cref="ConditionalSelect"/>.</summary>
    static abstract TSelf FirstLanes(int count);

    /// <summary>Per lane, <paramref name="ifSet"/> where <paramref name="mask"/> has its bits set, <paramref name="otherwise"/> elsewhere.</summary>
    static abstract TSelf ConditionalSelect(TSelf mask, TSelf ifSet, TSelf otherwise);

    /// <summary>x · 2^n per lane, for n a whole number in [−126, 127].</summary>
    static abstract TSelf ScaleByPowerOfTwo(TSelf x, TSelf n);

    /// <summary>The sum of the lanes, added in this width's own order.</summary>
    static abstract float Sum(TSelf v);

    /// <summary>The largest lane.</summary>
    static abstract float MaxAcross(TSelf v);
}
