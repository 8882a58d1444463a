using System.Text.Json.Nodes;
using Remix.Checkpoints.SafeTensors;
using Remix.Checkpoints;
using Remix.Data;
using Remix.Models;
using Remix.Training;
using static TorchSharp.torch;

namespace Remix.Tests.Support;

/// <summary>
/// A micro base model, the output of <c>remix train --lora 4</c> on it (base weights plus a PEFT adapter whose B
/// training has moved off zero), and that output merged by <see cref="Lora.MergeAndSave"/>: the reference that
/// loading the unmerged folder must equal.
/// </summary>
public sealed class LoraFolders : IDisposable
{
    readonly TempDir _dir = new();

    public LoraFolders()
    {
        Assert.Equal(0, Cli.Run("model", "init", "--out", Base, "--hidden-size", "32").Code);
        ExampleJsonl.Write(Facts, KvrGenerator.Generate(4, 1));
        var train = Cli.Run("train", "--model", Base, "--data", Facts, "--out", _dir.File("run"), "--epochs", "3", "--batch-size", "2", "--lr", "1e-2", "--lora", "4");
        Assert.True(train.Code == 0, train.Err);
        Assert.True(System.IO.File.Exists(Path.Combine(Adapted, PeftAdapter.WeightsFile)));
        // The merge of the trusted path: the adapter restored as trainable adapters (a resume), then merged and saved.
        using var model = HfCheckpoint.Load(Adapted);
        PeftAdapter.Load(model, Adapted);
        PeftAdapter.MergeAndSave(model, Merged, Adapted);
    }

    public string Base => _dir.File("base");
    public string Facts => _dir.File("facts.jsonl");
    public string Adapted => Path.Combine(_dir.File("run"), "final");
    public string Merged => _dir.File("merged");

    /// <summary>A path for a test's own files.</summary>
    public string File(string name) => _dir.File(name);

    /// <summary>A copy of the unmerged folder under <paramref name="name"/>, to edit.</summary>
    public string CopyOfAdapted(string name)
    {
        var copy = _dir.File(name);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Adapted)) System.IO.File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        return copy;
    }

    /// <summary>Rewrites a folder's <c>adapter_config.json</c>.</summary>
    public static void EditConfig(string folder, Action<JsonObject> edit)
    {
        var path = Path.Combine(folder, PeftAdapter.ConfigFile);
        var config = JsonNode.Parse(System.IO.File.ReadAllText(path))!.AsObject();
        edit(config);
        System.IO.File.WriteAllText(path, config.ToJsonString());
    }

    /// <summary>Rewrites a folder's <c>adapter_model.safetensors</c> with the tensors <paramref name="edit"/> returns.</summary>
    public static void EditTensors(string folder, Func<List<(string Name, Tensor Tensor)>, List<(string Name, Tensor Tensor)>> edit)
    {
        var path = Path.Combine(folder, PeftAdapter.WeightsFile);
        using var scope = NewDisposeScope();
        List<(string Name, Tensor Tensor)> tensors;
        using (var file = SafeTensorsFile.Open(path))
            tensors = [.. file.Tensors.Select(t => (t.Name, file.Read(t.Name)))];
        SafeTensorsWriter.Write(path, edit(tensors));
    }

    public void Dispose() => _dir.Dispose();
}
