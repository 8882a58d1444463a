using Remix.Data.Batching;
using Remix.Tokenization;

namespace Remix.Training;

/// <summary>
/// Pretraining data: every document tokenized as BOS + text + EOS, all of them concatenated and cut
/// into blocks of a fixed length (the incomplete last block is dropped), every token trained.
/// </summary>
public static class PackedCorpus
{
    public static List<EncodedExample> Pack(IEnumerable<string> documents, HfTokenizer tokenizer, int blockLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockLength, 2);
        int bos = tokenizer.BosTokenId ?? throw new InvalidInputException("tokenizer_config.json", "field 'bos_token': expected a BOS token for packing documents");
        int eos = tokenizer.EosTokenId ?? throw new InvalidInputException("tokenizer_config.json", "field 'eos_token': expected an EOS token for packing documents");
        var blocks = new List<EncodedExample>();
        var current = new List<int>(blockLength);
        foreach (var text in documents)
        {
            current.Add(bos);
            foreach (var id in tokenizer.Encode(text, addSpecialTokens: false).Append(eos))
            {
                if (current.Count == blockLength)
                {
                    Flush();
                }
                current.Add(id);
            }
            if (current.Count == blockLength) Flush();
        }
        return blocks;

        void Flush()
        {
            var ids = current.ToArray();
            blocks.Add(new EncodedExample($"block-{blocks.Count}", ids, ids));
            current.Clear();
        }
    }
}
