using System.Buffers.Binary;
using System.Text;
using Remix.Checkpoints.SafeTensors;
using Remix.Tests.Support;
using static TorchSharp.torch;

namespace Remix.Tests.Models;

public class SafeTensorsTests
{
    static bool SameBits(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    [Fact]
    public void RoundTrip_KeepsEveryDtypeBitForBit()
    {
        using var dir = new TempDir();
        var gen = new Generator(11, CPU);
        var tensors = new (string, Tensor)[]
        {
            ("a.f32", randn([3, 5], generator: gen)),
            ("b.bf16", randn([4, 2, 3], generator: gen).to(ScalarType.BFloat16)),
            ("c.f16", randn([7], generator: gen).to(ScalarType.Float16)),
            ("d.i64", arange(6, ScalarType.Int64).view(2, 3)),
            ("e.scalar", tensor(3.5f)),
            ("f.empty", zeros([0, 4])),
            ("g.transposed", randn([3, 4], generator: gen).t()), // not contiguous
        };
        var path = dir.File("x.safetensors");
        SafeTensorsWriter.Write(path, tensors);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(tensors.Select(t => t.Item1), file.Tensors.Select(t => t.Name));
        foreach (var (name, expected) in tensors)
        {
            using var actual = file.Read(name);
            Assert.True(SameBits(expected, actual), name);
        }
        Assert.Equal("BF16", file.Info("b.bf16").DType.Name);
        Assert.Equal(0, (new FileInfo(path).Length - 8 - file.Tensors.Sum(t => t.ByteLength)) % 8);
    }

    [Fact]
    public void Read_ConvertsBFloat16ToFloat32()
    {
        using var dir = new TempDir();
        using var values = tensor(new float[] { 1, -2.5f, 0.15625f }).to(ScalarType.BFloat16);
        SafeTensorsWriter.Write(dir.File("w.safetensors"), [("w", values)]);
        using var file = SafeTensorsFile.Open(dir.File("w.safetensors"));
        using var f32 = file.Read("w", ScalarType.Float32);
        Assert.Equal([1f, -2.5f, 0.15625f], f32.data<float>().ToArray());
    }

    [Fact]
    public void Header_IsTheDocumentedLayout()
    {
        using var dir = new TempDir();
        using var t = tensor(new float[] { 1, 2 });
        SafeTensorsWriter.Write(dir.File("h.safetensors"), [("t", t)]);
        var bytes = File.ReadAllBytes(dir.File("h.safetensors"));
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, n).TrimEnd(' ');
        Assert.Equal("{\"__metadata__\":{\"format\":\"pt\"},\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header);
        Assert.Equal(8 + n + 8, bytes.Length);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, 8 + n));
    }

    [Fact]
    public void ShardedCheckpoint_RoundTripsThroughTheIndex()
    {
        using var dir = new TempDir();
        var gen = new Generator(2, CPU);
        var tensors = Enumerable.Range(0, 5).Select(i => ($"layer.{i}.weight", randn([16, 16], generator: gen).to(ScalarType.BFloat16))).ToList();
        var written = SafeTensorsWriter.WriteCheckpoint(dir.Path, tensors, maxShardBytes: 1100); // 512 bytes each: 2 per shard
        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"], written);
        using var weights = CheckpointWeights.Open(dir.Path);
        Assert.Equal(tensors.Select(t => t.Item1), weights.Names);
        Assert.EndsWith("model-00003-of-00003.safetensors", weights.FileOf("layer.4.weight"));
        foreach (var (name, expected) in tensors)
        {
            using var actual = weights.Read(name);
            Assert.True(SameBits(expected, actual), name);
        }

        // Writing the same directory as a single file removes the stale shards.
        SafeTensorsWriter.WriteCheckpoint(dir.Path, tensors);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Write_LeavesNoTemporaryFilesAndReplacesAnExistingLongerFile()
    {
        using var dir = new TempDir();
        var path = dir.File("m.safetensors");
        File.WriteAllBytes(path, new byte[100_000]);
        using var t = tensor(new float[] { 1 });
        SafeTensorsWriter.Write(path, [("t", t)]);
        Assert.Single(Directory.GetFiles(dir.Path));
        Assert.True(new FileInfo(path).Length < 200);
        using var file = SafeTensorsFile.Open(path);
        Assert.Equal(1f, file.Read("t").item<float>());
    }

    static byte[] WithHeader(string json, int dataBytes = 0, ulong? declaredLength = null)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        return bytes;
    }

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        { "too short", new byte[5], "file is 5 bytes; a safetensors file starts with an 8-byte header length" },
        { "huge header length", WithHeader("{}", 0, ulong.MaxValue), "header length is 18446744073709551615; expected 2 to 100000000 bytes" },
        { "header past end", WithHeader("{}", 0, 4096), "header length is 4096 but only 2 bytes follow it" },
        { "not JSON", WithHeader("{\"a\": [1,"), "(header): malformed JSON" },
        { "not an object", WithHeader("[1, 2]"), "(header): expected a JSON object at the top level, found a list" },
        { "invalid UTF-8", WithHeader("{\"\u00e9\": 1}").Select((b, i) => i == 10 ? (byte)0xff : b).ToArray(), "header is not valid UTF-8" },
        { "unknown dtype", WithHeader("{\"w\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w', field 'dtype': expected one of" },
        { "missing dtype", WithHeader("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'w', field 'dtype': expected a dtype name" },
        { "negative dim", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4), "tensor 'w', field 'shape': expected non-negative integers, found -1" },
        { "shape not list", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 4), "tensor 'w', field 'shape': expected a list" },
        { "offsets reversed", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4), "tensor 'w', field 'data_offsets': end 0 is before begin 4" },
        { "offsets outside file", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 4), "tensor 'w', field 'data_offsets': bytes [4, 8) run past the data section (4 bytes)" },
        { "offsets wrong count", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4), "tensor 'w', field 'data_offsets': expected [begin, end]" },
        { "size mismatch", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), "tensor 'w': shape [2] of F32 needs 8 bytes but data_offsets span 4" },
        { "shape overflow", WithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4), "tensor 'w', field 'shape': [4294967296, 4294967296] is too large" },
        { "overlap", WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "tensor 'b' bytes [4, 8) overlap tensor 'a' bytes [0, 8)" },
        { "duplicate name", WithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "tensor 'a' appears twice in the header" },
        { "metadata not strings", WithHeader("{\"__metadata__\":{\"format\":1}}"), "'__metadata__.format': expected a string, found 1" },
        { "entry not object", WithHeader("{\"w\": 5}"), "tensor 'w': expected an object with dtype, shape and data_offsets, found 5" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedFile_IsRefusedWithOneLineNamingTheFile(string why, byte[] content, string message)
    {
        using var dir = new TempDir();
        var path = dir.File($"{why.Replace(' ', '-')}.safetensors");
        File.WriteAllBytes(path, content);
        var e = Assert.Throws<InvalidInputException>(() => SafeTensorsFile.Open(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Fp8Tensor_IsListedButRefusedOnRead()
    {
        using var dir = new TempDir();
        var path = dir.File("f8.safetensors");
        File.WriteAllBytes(path, WithHeader("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4));
        using var file = SafeTensorsFile.Open(path);
        var e = Assert.Throws<InvalidInputException>(() => file.Read("w"));
        Assert.Contains("dtype F8_E4M3 cannot be loaded", e.Message);
    }

    [Fact]
    public void ShardIndex_PointingOutsideTheDirectory_IsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"../elsewhere.safetensors\"}}");
        var e = Assert.Throws<InvalidInputException>(() => CheckpointWeights.Open(dir.Path));
        Assert.Contains("field 'weight_map.w': expected a file name inside the checkpoint directory", e.Message);
    }

    [Fact]
    public void ShardIndex_NamingATensorTheShardLacks_IsRefused()
    {
        using var dir = new TempDir();
        using var t = tensor(new float[] { 1 });
        SafeTensorsWriter.Write(dir.File("s1.safetensors"), [("a", t)]);
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}}");
        var e = Assert.Throws<InvalidInputException>(() => CheckpointWeights.Open(dir.Path));
        Assert.Contains("field 'weight_map.b': shard s1.safetensors holds no tensor of that name", e.Message);
    }
}
