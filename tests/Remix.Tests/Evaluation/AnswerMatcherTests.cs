using Remix.Data;
using Remix.Evaluation;

namespace Remix.Tests.Evaluation;

public class AnswerMatcherTests
{
    [Theory]
    [InlineData("  Paris \n", true)]
    [InlineData("PARIS", true)]
    [InlineData("City of Light", true)]
    [InlineData("Paris, France", false)]
    [InlineData("", false)]
    public void Exact_StripsAndLowercases_AndAcceptsAliases(string prediction, bool correct) =>
        Assert.Equal(correct, AnswerMatcher.IsCorrect(prediction, ["Paris", "city of light"]));

    [Theory]
    [InlineData("Jamaican", true)]
    [InlineData(" creole english ", true)]
    [InlineData("Jamaican English language", false)]
    [InlineData("  ", false)]
    public void PredictionInGold_IsASubstringCheck(string prediction, bool correct) =>
        Assert.Equal(correct, AnswerMatcher.IsCorrect(prediction, ["Jamaican English", "Jamaican Creole English Language"], AnswerMatch.PredictionInGold));
}
