using Remix.Data.Batching;
using Remix.Tests.Support;
using Remix.Tokenization;
using Remix.Training;

namespace Remix.Tests.Tokenization;

public class BpeTrainerTests
{
    static readonly string[] Corpus =
    [
        "low low low low low lower lower newest newest newest newest newest newest widest widest widest",
        "the lowest of the low; the newest of the new.",
    ];

    [Fact]
    public void Train_MergesTheMostFrequentPairFirst_AndIsDeterministic()
    {
        var result = BpeTrainer.Train(Corpus, vocabularySize: 256 + 6);
        Assert.Equal(6, result.Merges.Count);
        // " newest" x6 + " low" x5 + ...: the Ġ+n / e+s / s+t style pairs are the frequent ones; check the first by counting.
        var pairCounts = new Dictionary<(string, string), int>();
        foreach (var text in Corpus)
            foreach (System.Text.RegularExpressions.Match m in BpeTrainer.PreTokenizer().Matches(text))
            {
                var symbols = System.Text.Encoding.UTF8.GetBytes(m.Value).Select(b => ByteLevelTokenizerFiles.ByteAlphabet()[b]).ToArray();
                for (int i = 0; i + 1 < symbols.Length; i++) pairCounts[(symbols[i], symbols[i + 1])] = pairCounts.GetValueOrDefault((symbols[i], symbols[i + 1])) + 1;
            }
        int top = pairCounts.Values.Max();
        var expectedFirst = pairCounts.Where(p => p.Value == top).Select(p => p.Key).OrderBy(p => p.Item1 + p.Item2, StringComparer.Ordinal).First();
        Assert.Equal(expectedFirst, result.Merges[0]);
        Assert.Equal(result.Merges, BpeTrainer.Train(Corpus, 256 + 6).Merges);
        Assert.Equal(256 + 6, result.Vocabulary.Count);
        Assert.Equal(result.Merges[0].Left + result.Merges[0].Right, result.Vocabulary[256]);
    }

    [Fact]
    public void TrainedTokenizer_LoadsInTheTokenizersLibrary_AndUsesItsMerges()
    {
        using var dir = new TempDir();
        var result = BpeTrainer.TrainAndWrite(Corpus, 256 + 40 + 5, dir.Path);
        int merges = result.Merges.Count; // this small corpus runs out of pairs seen twice before 40 merges
        Assert.InRange(merges, 10, 40);
        using var tok = HfTokenizer.Load(dir.Path);
        Assert.Equal(256 + merges + 5, tok.VocabularySize);
        var ids = tok.Encode(" newest", addSpecialTokens: false);
        Assert.Single(ids); // a frequent word becomes one token
        Assert.True(ids[0] >= 256);
        foreach (var text in new[] { "the newest low", "Unseen wörds: 日本語!", "<|user|>\nq\n<|assistant|>\na" })
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
        Assert.Single(tok.Encode("<|assistant|>", addSpecialTokens: false)); // the chat markers are single tokens
        Assert.Equal((256 + merges, 256 + merges + 1), (tok.BosTokenId!.Value, tok.EosTokenId!.Value));
    }

    [Fact]
    public void PackedCorpus_ConcatenatesDocumentsWithBosAndEos_IntoFullBlocks()
    {
        using var dir = new TempDir();
        ByteLevelTokenizerFiles.Write(dir.Path);
        using var tok = HfTokenizer.Load(dir.Path);
        var blocks = PackedCorpus.Pack(["abc", "de", "fghij"], tok, blockLength: 4);
        // 256 a b c 257 | 256 d e 257 | 256 f g h i j 257 -> 16 tokens: 4 blocks of 4, nothing left over.
        Assert.Equal(4, blocks.Count);
        Assert.Equal([256, 'a', 'b', 'c'], blocks[0].InputIds);
        Assert.Equal([257, 256, 'd', 'e'], blocks[1].InputIds);
        Assert.Equal([257, 256, 'f', 'g'], blocks[2].InputIds);
        Assert.Equal([.. blocks[3].InputIds], blocks[3].Labels);
        Assert.Equal(3, PackedCorpus.Pack(["abc", "de", "fghij", "k"], tok, 5).Count); // 18 tokens: the last 3 are dropped
    }
}
