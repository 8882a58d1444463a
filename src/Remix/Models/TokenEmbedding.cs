using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Remix.Models;

/// <summary>The token embedding table (<c>embed_tokens.weight</c>, [vocab, hidden]).</summary>
public sealed class TokenEmbedding : nn.Module
{
    [TorchSharp.Utils.ComponentName(Name = "weight")]
    readonly Parameter _weight;

    public TokenEmbedding(long vocabSize, long dim, Device device, ScalarType dtype) : base(nameof(TokenEmbedding))
    {
        _weight = new Parameter(empty([vocabSize, dim], dtype, device));
        RegisterComponents();
    }

    public Parameter Weight => _weight;

    /// <summary>[batch, seq] token ids to [batch, seq, dim] vectors.</summary>
    public Tensor Forward(Tensor ids)
    {
        using var flat = ids.reshape(-1);
        using var rows = _weight.index_select(0, flat);
        return rows.reshape(ids.shape[0], ids.shape[1], _weight.shape[1]);
    }
}
