using Remix.Checkpoints;
using Remix.Evaluation;
using Remix.Models.Kernels;
using Remix.Models;
using Remix.Tests.Support;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

/// <summary>
/// The two kernel paths run side by side on any CPU. Where .NET accelerates a vector width (any x64 or ARM CPU),
/// <see cref="KernelChoice.Auto"/> runs Remix's kernels at that width and the comparison with <see cref="KernelChoice.Reference"/>
/// is real; elsewhere both run TorchSharp's operations, the tests still run both and say so in their output, and only the
/// agreement is checked.
/// </summary>
public class KernelChoiceTests(ITestOutputHelper output)
{
    // head_dim 16 and a hidden size of whole vectors, so that attention, both norms and SwiGLU all take the kernels.
    static LlamaConfig Micro() => TestModels.Config(hidden: 64, layers: 2, heads: 4, kvHeads: 2) with { InitializerRange = 0.1 };

    static LlamaForCausalLM Create(KernelChoice kernels)
    {
        var model = new LlamaForCausalLM(Micro(), CPU, ScalarType.Float32, kernels);
        model.InitializeWeights(3);
        return model;
    }

    void SayWhich() => output.WriteLine(KernelChoices.UsesCpuKernels(KernelChoice.Auto)
        ? $"auto ran Remix's kernels at {CpuKernels.VectorBits} bits here, compared with reference"
        : "no vector instructions here: auto fell back to reference ops, so both paths ran the same operations");

    [Fact]
    public void Reference_NeverUsesTheKernels_AndAutoDoesWhereDotNetAcceleratesAVectorWidth()
    {
        Assert.False(KernelChoices.UsesCpuKernels(KernelChoice.Reference));
        Assert.Equal(CpuKernels.VectorBits != 0, KernelChoices.UsesCpuKernels(KernelChoice.Auto));
        Assert.Equal("reference", KernelChoices.Describe(KernelChoice.Reference));
        Assert.Equal(CpuKernels.VectorBits != 0 ? $"auto (CPU kernels, {CpuKernels.VectorBits}-bit vectors)" : "auto (no vector instructions: reference ops)",
            KernelChoices.Describe(KernelChoice.Auto));
        Assert.Equal("auto (not on the CPU: reference ops)", KernelChoices.Describe(KernelChoice.Auto, onCpu: false));
        Assert.Equal("auto (16-bit weights: reference ops)", KernelChoices.Describe(KernelChoice.Auto, onCpu: true, float32: false)); // every kernel takes float32
        Assert.Equal(KernelChoice.Reference, KernelChoices.Parse("reference"));
        Assert.Null(KernelChoices.TryParse("Reference")); // as written, as every spec choice
        var e = Assert.Throws<InvalidInputException>(() => KernelChoices.Parse("fast"));
        Assert.Equal("--kernels: expected auto or reference, found \"fast\"", e.Message);
        using var model = Create(KernelChoice.Reference);
        Assert.Equal(KernelChoice.Reference, model.Kernels);
    }

    [Fact]
    public void Forward_AutoAndReference_GiveTheSameLogitsWithinFloat32Rounding()
    {
        SayWhich();
        using var auto = Create(KernelChoice.Auto);
        using var reference = Create(KernelChoice.Reference);
        long[] ids = [.. Enumerable.Range(0, 24).Select(i => (long)((i * 37 + 5) % Micro().VocabSize))];
        float[] a = TestModels.Logits(auto, ids), r = TestModels.Logits(reference, ids);
        float largest = r.Max(MathF.Abs), difference = a.Zip(r, (x, y) => MathF.Abs(x - y)).Max();
        output.WriteLine($"max |logit| {largest:G4}, max difference {difference:G4}");
        Assert.True(difference <= 1e-5f * Math.Max(1f, largest), $"logits differ by {difference} (largest {largest})");
        // Where the kernels ran, some rounding differs: equal bits would mean auto never reached them.
        if (KernelChoices.UsesCpuKernels(KernelChoice.Auto)) Assert.True(difference > 0, "auto and reference agree bit for bit: the kernels did not run");
    }

    [Fact]
    public void Training_AutoAndReference_FollowTheSameLossesOverAFewSteps()
    {
        SayWhich();
        var losses = new Dictionary<KernelChoice, double[]>();
        foreach (var kernels in new[] { KernelChoice.Auto, KernelChoice.Reference })
        {
            using var model = Create(kernels);
            using var optimizer = optim.AdamW(model.parameters(), lr: 1e-2);
            var generator = new Generator(7, CPU);
            using var ids = randint(0, Micro().VocabSize, [4, 17], generator: generator); // [batch, seq + 1]
            var steps = new double[5];
            for (int step = 0; step < steps.Length; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var logits = model.Forward(ids.narrow(1, 0, 16)); // [batch, seq, vocab]
                var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), ids.narrow(1, 1, 16).reshape(-1));
                loss.backward(); // through the kernels' own backward passes under auto
                optimizer.step();
                steps[step] = loss.item<float>();
            }
            losses[kernels] = steps;
        }
        var differences = losses[KernelChoice.Auto].Zip(losses[KernelChoice.Reference], (a, r) => Math.Abs(a - r)).ToArray();
        output.WriteLine($"losses auto [{string.Join(", ", losses[KernelChoice.Auto].Select(l => l.ToString("F6")))}], " +
            $"reference [{string.Join(", ", losses[KernelChoice.Reference].Select(l => l.ToString("F6")))}], max difference {differences.Max():G4}");
        Assert.True(losses[KernelChoice.Reference][^1] < losses[KernelChoice.Reference][0] - 0.1, "the steps should learn something to compare");
        Assert.All(differences, d => Assert.True(d < 1e-4, $"losses differ by {d}"));
    }

    [Fact]
    public void Generate_OnRemixTiny_AutoAndReference_GiveTheSameGreedyIds()
    {
        SayWhich();
        var dir = Path.GetDirectoryName(Remix.Data.Bundled.BundledPaths.Find("models/remix-tiny/config.json"))!;
        using var auto = LoadedModel.Load(dir, kernels: KernelChoice.Auto);
        using var reference = LoadedModel.Load(dir, kernels: KernelChoice.Reference);
        Assert.Equal(KernelChoice.Reference, reference.Model.Kernels);
        string[] prompts = ["oak, oak tree:", "The capital of France is", "river:"];
        foreach (var prompt in prompts) // one at a time: no padding mask, so the prompt's attention takes the kernel
        {
            var a = new TextGenerator(auto).Generate([prompt], 8)[0];
            var r = new TextGenerator(reference).Generate([prompt], 8)[0];
            output.WriteLine($"{prompt} ->{r.Text}");
            Assert.Equal(r.Sequence.Tokens, a.Sequence.Tokens);
        }
    }
}
