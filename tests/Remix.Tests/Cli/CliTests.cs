using Remix.Checkpoints;
using Remix.Cli;
using Remix.Evaluation;
using Remix.Models;
using Remix.Tests.Support;

namespace Remix.Tests.Cli;

public class CliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => Support.Cli.Run(args);

    [Fact]
    public void ModelInit_ThenInfo_ReportsTheShape()
    {
        using var dir = new TempDir();
        var init = Run("model", "init", "--out", dir.Path, "--hidden-size", "32", "--layers", "3", "--heads", "4", "--kv-heads", "2");
        Assert.Equal(0, init.Code);
        var info = Run("model", "info", dir.Path);
        Assert.Equal(0, info.Code);
        Assert.Contains("layers:             3", info.Out);
        Assert.Contains("attention heads:    4 (key/value heads: 2, head dim: 8)", info.Out);
        Assert.Contains("vocabulary size:    259", info.Out);
        Assert.Contains("dtype:              float32 (stored: F32)", info.Out);
        Assert.Contains($"parameters:         {RandomCheckpoint.TinyConfig(32, 3, 4, 2).ParameterCount:N0}", info.Out);
        Assert.Contains($"torch backend:      built for {Remix.Runtime.TorchBackend.Built} (remix info says what loads)", info.Out);
    }

    [Fact]
    public void Generate_PrintsOnlyTheContinuation_AndIdsMatchTheLibrary()
    {
        using var dir = new TempDir();
        using (var model = TestModels.Create(TestModels.Config(), seed: 4))
        {
            HfCheckpoint.Save(model, dir.Path);
            Remix.Tokenization.ByteLevelTokenizerFiles.Write(dir.Path);
        }
        var ids = Run("generate", "--model", dir.Path, "--prompt", "Hi", "--max-new-tokens", "6", "--ids");
        Assert.Equal(0, ids.Code);
        using var loaded = LoadedModel.Load(dir.Path);
        var expected = new GreedyGenerator(loaded.Model).Generate([loaded.Tokenizer.Encode("Hi")], 6, loaded.StopTokenIds)[0];
        Assert.Equal(string.Join(' ', expected.Tokens) + Environment.NewLine, ids.Out);

        var text = Run("generate", "--model", dir.Path, "--prompt", "Hi", "--max-new-tokens", "6");
        Assert.Equal(loaded.Tokenizer.Decode(expected.Tokens) + Environment.NewLine, text.Out);

        var chat = Run("generate", "--model", dir.Path, "--prompt", "Hi", "--max-new-tokens", "6", "--ids", "--chat");
        var chatExpected = new GreedyGenerator(loaded.Model).Generate([loaded.Tokenizer.Encode("<|user|>\nHi\n<|assistant|>\n")], 6, loaded.StopTokenIds)[0];
        Assert.Equal(string.Join(' ', chatExpected.Tokens) + Environment.NewLine, chat.Out);
    }

    [Fact]
    public void MissingRequiredOption_ExitsNonZeroWithOneLine()
    {
        var r = Run("generate", "--prompt", "x");
        Assert.Equal(2, r.Code);
        Assert.Contains("--model", r.Err);
        Assert.Empty(r.Out);
    }

    [Fact]
    public void UnknownOption_IsRefused()
    {
        var r = Run("model", "info", "somewhere", "--frobnicate");
        Assert.NotEqual(0, r.Code);
        Assert.Contains("--frobnicate", r.Err);
    }

    [Fact]
    public void MalformedConfig_ExitsNonZeroWithOneLineNamingFileAndField()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.Path);
        File.WriteAllText(dir.File("config.json"), File.ReadAllText(dir.File("config.json")).Replace("\"hidden_size\": 64", "\"hidden_size\": -64"));
        foreach (var args in new[] { new[] { "model", "info", dir.Path }, ["generate", "--model", dir.Path, "--prompt", "x"] })
        {
            var r = Run(args);
            Assert.Equal(1, r.Code);
            Assert.Equal($"remix: {dir.File("config.json")}: field 'hidden_size': expected a positive integer, found -64{Environment.NewLine}", r.Err);
        }
    }

    [Fact]
    public void MalformedSafetensors_ExitsNonZeroWithOneLine()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.Path);
        var bytes = File.ReadAllBytes(dir.File("model.safetensors"));
        bytes[7] = 0x40; // header length far beyond the file
        File.WriteAllBytes(dir.File("model.safetensors"), bytes);
        var r = Run("model", "info", dir.Path);
        Assert.Equal(1, r.Code);
        Assert.StartsWith($"remix: {dir.File("model.safetensors")}: header length is ", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void CudaOnCpuBuild_IsRefusedClearly()
    {
        using var dir = new TempDir();
        Run("model", "init", "--out", dir.Path);
        var r = Run("generate", "--model", dir.Path, "--prompt", "x", "--device", "cuda");
        Assert.Equal(1, r.Code);
        Assert.StartsWith("remix: --device: \"cuda\" was asked for but CUDA is not available", r.Err);
        var bad = Run("generate", "--model", dir.Path, "--prompt", "x", "--device", "tpu");
        Assert.Equal("remix: --device: expected cpu, cuda or cuda:N, found \"tpu\"" + Environment.NewLine, bad.Err);
    }
}
