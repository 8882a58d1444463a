using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Remix.Models.Kernels;

/// <summary>What the three widths of <see cref="IFloatVector{TSelf}"/> share.</summary>
internal static class FloatVectors
{
    /// <summary>The largest of four lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v) => MathF.Max(MathF.Max(v[0], v[1]), MathF.Max(v[2], v[3]));
}

/// <summary>128-bit vectors of 4 floats (<see cref="Vector128{T}"/>).</summary>
internal readonly unsafe struct FloatVector128(Vector128<float> value) : IFloatVector<FloatVector128>
{
    public readonly Vector128<float> Value = value;

    public static int Lanes => 4;
    public static int Bits => 128;
    public static bool IsHardwareAccelerated => Vector128.IsHardwareAccelerated;
    public static FloatVector128 Zero => default;
    public static FloatVector128 One => new(Vector128<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Create(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Load(float* source) => new(Vector128.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(float* destination) => Value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator +(FloatVector128 a, FloatVector128 b) => new(a.Value + b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator -(FloatVector128 a, FloatVector128 b) => new(a.Value - b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator *(FloatVector128 a, FloatVector128 b) => new(a.Value * b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator /(FloatVector128 a, FloatVector128 b) => new(a.Value / b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator -(FloatVector128 a) => new(-a.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 FusedMultiplyAdd(FloatVector128 a, FloatVector128 b, FloatVector128 c) =>
        new(Vector128.FusedMultiplyAdd(a.Value, b.Value, c.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Min(FloatVector128 a, FloatVector128 b) => new(Vector128.Min(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Max(FloatVector128 a, FloatVector128 b) => new(Vector128.Max(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Round(FloatVector128 x) => new(Vector128.Round(x.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Sqrt(FloatVector128 x) => new(Vector128.Sqrt(x.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 LessThan(FloatVector128 a, FloatVector128 b) => new(Vector128.LessThan(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 FirstLanes(int count) =>
        new(Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(count)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 ConditionalSelect(FloatVector128 mask, FloatVector128 ifSet, FloatVector128 otherwise) =>
        new(Vector128.ConditionalSelect(mask.Value, ifSet.Value, otherwise.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 ScaleByPowerOfTwo(FloatVector128 x, FloatVector128 n) =>
        new(x.Value * Vector128.ShiftLeft(Vector128.ConvertToInt32(n.Value) + Vector128.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatVector128 v) => Vector128.Sum(v.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatVector128 v) => FloatVectors.MaxAcross(v.Value);
}

/// <summary>256-bit vectors of 8 floats (<see cref="Vector256{T}"/>).</summary>
internal readonly unsafe struct FloatVector256(Vector256<float> value) : IFloatVector<FloatVector256>
{
    public readonly Vector256<float> Value = value;

    public static int Lanes => 8;
    public static int Bits => 256;
    public static bool IsHardwareAccelerated => Vector256.IsHardwareAccelerated;
    public static FloatVector256 Zero => default;
    public static FloatVector256 One => new(Vector256<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Load(float* source) => new(Vector256.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(float* destination) => Value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator +(FloatVector256 a, FloatVector256 b) => new(a.Value + b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator -(FloatVector256 a, FloatVector256 b) => new(a.Value - b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator *(FloatVector256 a, FloatVector256 b) => new(a.Value * b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator /(FloatVector256 a, FloatVector256 b) => new(a.Value / b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator -(FloatVector256 a) => new(-a.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 FusedMultiplyAdd(FloatVector256 a, FloatVector256 b, FloatVector256 c) =>
        new(Vector256.FusedMultiplyAdd(a.Value, b.Value, c.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Min(FloatVector256 a, FloatVector256 b) => new(Vector256.Min(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Max(FloatVector256 a, FloatVector256 b) => new(Vector256.Max(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Round(FloatVector256 x) => new(Vector256.Round(x.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Sqrt(FloatVector256 x) => new(Vector256.Sqrt(x.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 LessThan(FloatVector256 a, FloatVector256 b) => new(Vector256.LessThan(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 FirstLanes(int count) =>
        new(Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 ConditionalSelect(FloatVector256 mask, FloatVector256 ifSet, FloatVector256 otherwise) =>
        new(Vector256.ConditionalSelect(mask.Value, ifSet.Value, otherwise.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 ScaleByPowerOfTwo(FloatVector256 x, FloatVector256 n) =>
        new(x.Value * Vector256.ShiftLeft(Vector256.ConvertToInt32(n.Value) + Vector256.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatVector256 v) => Vector256.Sum(v.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatVector256 v) => FloatVectors.MaxAcross(Vector128.Max(v.Value.GetLower(), v.Value.GetUpper()));
}

/// <summary>512-bit vectors of 16 floats (<see cref="Vector512{T}"/>).</summary>
internal readonly unsafe struct FloatVector512(Vector512<float> value) : IFloatVector<FloatVector512>
{
    public readonly Vector512<float> Value = value;

    public static int Lanes => 16;
    public static int Bits => 512;
    public static bool IsHardwareAccelerated => Vector512.IsHardwareAccelerated;
    public static FloatVector512 Zero => default;
    public static FloatVector512 One => new(Vector512<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(float* destination) => Value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator +(FloatVector512 a, FloatVector512 b) => new(a.Value + b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator -(FloatVector512 a, FloatVector512 b) => new(a.Value - b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator *(FloatVector512 a, FloatVector512 b) => new(a.Value * b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator /(FloatVector512 a, FloatVector512 b) => new(a.Value / b.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator -(FloatVector512 a) => new(-a.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 FusedMultiplyAdd(FloatVector512 a, FloatVector512 b, FloatVector512 c) =>
        new(Vector512.FusedMultiplyAdd(a.Value, b.Value, c.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Min(FloatVector512 a, FloatVector512 b) => new(Vector512.Min(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Max(FloatVector512 a, FloatVector512 b) => new(Vector512.Max(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Round(FloatVector512 x) => new(Vector512.Round(x.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Sqrt(FloatVector512 x) => new(Vector512.Sqrt(x.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 LessThan(FloatVector512 a, FloatVector512 b) => new(Vector512.LessThan(a.Value, b.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 FirstLanes(int count) =>
        new(Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 ConditionalSelect(FloatVector512 mask, FloatVector512 ifSet, FloatVector512 otherwise) =>
        new(Vector512.ConditionalSelect(mask.Value, ifSet.Value, otherwise.Value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 ScaleByPowerOfTwo(FloatVector512 x, FloatVector512 n) =>
        new(x.Value * Vector512.ShiftLeft(Vector512.ConvertToInt32(n.Value) + Vector512.Create(127), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatVector512 v) => Vector512.Sum(v.Value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatVector512 v)
    {
        var half = Vector256.Max(v.Value.GetLower(), v.Value.GetUpper());
        return FloatVectors.MaxAcross(Vector128.Max(half.GetLower(), half.GetUpper()));
    }
}
