using Remix.IO;

namespace Remix.Tests.IO;

public class NearestNameTests
{
    [Theory]
    [InlineData("trian", "train")]
    [InlineData("--epoch", "--epochs")]
    [InlineData("-lr", "--lr")]
    [InlineData("--LR", "--lr")]
    [InlineData("--hlep", "--help")]
    [InlineData("--eval-ev", "--eval-every")] // too far from any name, but it begins only one
    [InlineData("--learning-rate", null)]
    [InlineData("--lora-", null)] // begins two names
    [InlineData("--xyz", null)]
    public void Closest_SuggestsOnlyWhatIsASlipAway(string word, string? expected) =>
        Assert.Equal(expected, NearestName.Closest(word, ["train", "eval", "--epochs", "--eps", "--lr", "--help", "--eval-every", "--lora-merge", "--lora-targets"]));
}
