using Remix.Checkpoints;
using Remix.Models;
using Remix.Tests.Support;
using Remix.Training;

namespace Remix.Tests.Training;

public class MemoryPlanTests
{
    /// <summary>Meta-Llama-3-8B's config.json, without its weights.</summary>
    static readonly string Llama3_8B = Path.Combine(AppContext.BaseDirectory, "Fixtures", "models", "llama3-8b");

    /// <summary>The parameter count of Llama-3-8B (embeddings and head untied), as its safetensors index counts it.</summary>
    const long Llama3_8BParameters = 8_030_261_248;

    [Theory]
    [InlineData(Precision.Fp32, 4, 4, 8)]
    [InlineData(Precision.Bf16Master, 2, 2, 12)]
    [InlineData(Precision.Bf16Pure, 2, 2, 4)]
    public void Plan_WeightsGradientsAndOptimizer_AreParametersTimesBytes(Precision precision, int weights, int gradients, int optimizer)
    {
        var plan = MemoryPlan.Estimate(HfCheckpoint.LoadConfig(Llama3_8B), precision, batchSize: 1, maxLength: 2048);
        Assert.Equal(Llama3_8BParameters, plan.Parameters);
        Assert.Equal(Llama3_8BParameters * weights, plan.WeightBytes);
        Assert.Equal(Llama3_8BParameters * gradients, plan.GradientBytes);
        Assert.Equal(Llama3_8BParameters * optimizer, plan.OptimizerBytes);
        Assert.Equal(plan.StateBytes + plan.ActivationBytes, plan.TotalBytes);
    }

    [Fact]
    public void Bf16Pure_FullFineTuningOf8B_IsAbout64GB_BeforeActivations_HalfOfBf16Master()
    {
        var config = HfCheckpoint.LoadConfig(Llama3_8B);
        var pure = MemoryPlan.Estimate(config, Precision.Bf16Pure, 1, 2048);
        Assert.Equal(Llama3_8BParameters * 8, pure.StateBytes); // 64.24e9 bytes
        Assert.InRange(pure.StateBytes / 1e9, 64.0, 64.5);
        Assert.Equal(2 * pure.StateBytes, MemoryPlan.Estimate(config, Precision.Bf16Master, 1, 2048).StateBytes);
        Assert.Equal(2 * pure.StateBytes, MemoryPlan.Estimate(config, Precision.Fp32, 1, 2048).StateBytes);
    }

    [Fact]
    public void Activations_AreTheStatedFormula_PerTokenPerLayer_PlusTheHead()
    {
        var config = HfCheckpoint.LoadConfig(Llama3_8B);
        var plan = MemoryPlan.Estimate(config, Precision.Bf16Pure, batchSize: 2, maxLength: 1024);
        // a·(5h + 2kv + 4i) + 8h with a = 2, h = 4096, kv = 8 x 128, i = 14336; head (a + 4)·h + (a + 8)·vocab.
        Assert.Equal(2 * (5 * 4096 + 2 * 1024 + 4 * 14336) + 8 * 4096, plan.LayerBytesPerToken);
        Assert.Equal(6 * 4096 + 10 * 128256, plan.HeadBytesPerToken);
        Assert.Equal(2048L * (32 * plan.LayerBytesPerToken + plan.HeadBytesPerToken), plan.ActivationBytes);
        // Where heads x head_dim is not the hidden size (Qwen3-0.6B: 16 x 128 = 2048 against 1024), q, the attention output and the o projection's input are that wide.
        var wide = config with { HiddenSize = 1024, NumAttentionHeads = 16, NumKeyValueHeads = 8, HeadDim = 128, IntermediateSize = 3072 };
        Assert.Equal(2 * (2 * 1024 + 3 * 2048 + 2 * 1024 + 4 * 3072) + 8 * 1024, MemoryPlan.ActivationBytesPerTokenPerLayer(wide, 2));
    }

    [Fact]
    public void PlanMemory_PrintsEachPart_ReadingOnlyTheConfig()
    {
        var (code, stdout, stderr) = Support.Cli.Run("plan", "memory", "--model", Llama3_8B, "--precision", "bf16-pure", "--batch-size", "1", "--max-length", "2048");
        Assert.True(code == 0, stderr);
        var lines = stdout.TrimEnd().Split('\n');
        Assert.StartsWith("precision bf16-pure: 8 B per parameter (8,030,261,248 parameters, all trained)", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("weights ", StringComparison.Ordinal) && l.Contains("14.96 GiB  8,030,261,248 x 2 B"));
        Assert.Contains(lines, l => l.StartsWith("optimizer ", StringComparison.Ordinal) && l.Contains("29.92 GiB  8,030,261,248 x 4 B (AdamW moments 4 B in bfloat16)"));
        Assert.Contains(lines, l => l.Contains("subtotal") && l.Contains("(64.24 GB)"));
        Assert.Contains(lines, l => l.StartsWith("activations ", StringComparison.Ordinal) && l.Contains("estimate"));
        Assert.Contains(lines, l => l.StartsWith("total ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bf17", "--precision: expected fp32, bf16-master or bf16-pure, found \"bf17\"")]
    [InlineData(null, "config.json: file not found")]
    public void PlanMemory_BadInput_IsOneLine_AndANonZeroExit(string? precision, string expected)
    {
        using var dir = new TempDir();
        var model = precision is null ? dir.Path : Llama3_8B;
        var (code, _, stderr) = Support.Cli.Run("plan", "memory", "--model", model, "--precision", precision ?? "fp32");
        Assert.NotEqual(0, code);
        Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.Contains(expected, stderr);
    }
}
