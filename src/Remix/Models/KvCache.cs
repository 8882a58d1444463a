using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>
/// Keys and values of every layer for the tokens seen so far, preallocated to a maximum length so
/// that each decoding step writes in place: per layer [batch, kv_heads, capacity, head_dim].
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _keys;
    readonly Tensor[] _values;

    public KvCache(LlamaConfig config, long batch, long capacity, Device device, ScalarType dtype)
    {
        Capacity = capacity;
        _keys = new Tensor[config.NumHiddenLayers];
        _values = new Tensor[config.NumHiddenLayers];
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            _keys[i] = zeros([batch, config.NumKeyValueHeads, capacity, config.HeadDim], dtype, device);
            _values[i] = zeros([batch, config.NumKeyValueHeads, capacity, config.HeadDim], dtype, device);
        }
    }

    /// <summary>How many positions the cache holds.</summary>
    public long Length { get; private set; }

    public long Capacity { get; }

    /// <summary>
    /// Writes the new keys and values of one layer after the cached ones and returns views of all of
    /// them ([batch, kv_heads, Length + new, head_dim]). <see cref="Advance"/> commits the step.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        long added = keys.shape[2];
        if (Length + added > Capacity)
            throw new InvalidOperationException($"KV cache holds {Capacity} positions; {Length + added} were needed.");
        using (var k = _keys[layer].narrow(2, Length, added)) k.copy_(keys);
        using (var v = _values[layer].narrow(2, Length, added)) v.copy_(values);
        return (_keys[layer].narrow(2, 0, Length + added), _values[layer].narrow(2, 0, Length + added));
    }

    /// <summary>Layer <paramref name="layer"/>'s whole key tensor, [batch, kv_heads, capacity, head_dim], for kernels that write it in place.</summary>
    internal Tensor KeysOf(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s whole value tensor, [batch, kv_heads, capacity, head_dim].</summary>
    internal Tensor ValuesOf(int layer) => _values[layer];

    /// <summary>Marks <paramref name="added"/> more positions as cached, after every layer has appended them.</summary>
    public void Advance(long added) => Length += added;

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
