using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Remix.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Remix.Checkpoints.SafeTensors;

/// <summary>
/// A safetensors file opened for reading. The header is untrusted input and is validated in full
/// before any tensor is read: its length, the JSON, every dtype and shape, that each byte span
/// equals shape × dtype size, lies inside the file and overlaps no other.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>The reference implementation's cap on the header size.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    readonly SafeFileHandle _handle;
    readonly long _dataStart;
    readonly Dictionary<string, SafeTensorInfo> _tensors;

    SafeTensorsFile(string path, SafeFileHandle handle, long dataStart, Dictionary<string, SafeTensorInfo> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _handle = handle;
        _dataStart = dataStart;
        _tensors = tensors;
        Metadata = metadata;
    }

    public string Path { get; }

    /// <summary>The <c>__metadata__</c> strings (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor entries in file order.</summary>
    public IEnumerable<SafeTensorInfo> Tensors => _tensors.Values.OrderBy(t => t.Begin);

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public SafeTensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var info) ? info : throw new InvalidInputException(Path, $"no tensor named '{name}'");

    /// <summary>Opens and validates a file; a malformed one is refused with an <see cref="InvalidInputException"/>.</summary>
    public static SafeTensorsFile Open(string path)
    {
        SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidInputException(path, "file not found");
        }
        try
        {
            var (dataStart, tensors, metadata) = ReadHeader(path, handle);
            return new SafeTensorsFile(path, handle, dataStart, tensors, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    static (long, Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ReadHeader(string path, SafeFileHandle handle)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new InvalidInputException(path, $"file is {fileLength} bytes; a safetensors file starts with an 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        RandomAccess.Read(handle, lengthBytes, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > MaxHeaderBytes)
            throw new InvalidInputException(path, $"header length is {headerLength}; expected 2 to {MaxHeaderBytes} bytes");
        if ((long)headerLength > fileLength - 8)
            throw new InvalidInputException(path, $"header length is {headerLength} but only {fileLength - 8} bytes follow it");

        var header = new byte[headerLength];
        RandomAccess.Read(handle, header, 8);
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;
        try { new System.Text.UTF8Encoding(false, true).GetCharCount(header); }
        catch (System.Text.DecoderFallbackException) { throw new InvalidInputException(path, "header is not valid UTF-8"); }
        using var doc = JsonFields.ParseBytes(header, $"{path} (header)");

        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>();
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                ReadMetadata(path, entry.Value, metadata);
                continue;
            }
            var info = ReadEntry(path, entry.Name, entry.Value, dataLength);
            if (!tensors.TryAdd(entry.Name, info))
                throw new InvalidInputException(path, $"tensor '{entry.Name}' appears twice in the header");
        }

        SafeTensorInfo? previous = null;
        foreach (var t in tensors.Values.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin))
        {
            if (previous is not null && t.Begin < previous.End)
                throw new InvalidInputException(path, $"tensor '{t.Name}' bytes [{t.Begin}, {t.End}) overlap tensor '{previous.Name}' bytes [{previous.Begin}, {previous.End})");
            previous = t;
        }
        return (dataStart, tensors, metadata);
    }

    static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException(path, $"'__metadata__': expected an object of strings, found {JsonFields.Describe(value)}");
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new InvalidInputException(path, $"'__metadata__.{p.Name}': expected a string, found {JsonFields.Describe(p.Value)}");
            metadata[p.Name] = p.Value.GetString()!;
        }
    }

    static SafeTensorInfo ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        string Where(string field) => $"tensor '{name}', field '{field}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException(path, $"tensor '{name}': expected an object with dtype, shape and data_offsets, found {JsonFields.Describe(value)}");

        if (!value.TryGetProperty("dtype", out var dtypeValue) || dtypeValue.ValueKind != JsonValueKind.String)
            throw new InvalidInputException(path, $"{Where("dtype")}: expected a dtype name such as \"F32\" or \"BF16\"");
        if (!SafeTensorDType.All.TryGetValue(dtypeValue.GetString()!, out var dtype))
            throw new InvalidInputException(path, $"{Where("dtype")}: expected one of {string.Join(", ", SafeTensorDType.All.Keys)}, found {JsonFields.Describe(dtypeValue)}");

        if (!value.TryGetProperty("shape", out var shapeValue) || shapeValue.ValueKind != JsonValueKind.Array)
            throw new InvalidInputException(path, $"{Where("shape")}: expected a list of non-negative integers");
        var shape = new List<long>();
        foreach (var d in shapeValue.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long n) || n < 0)
                throw new InvalidInputException(path, $"{Where("shape")}: expected non-negative integers, found {JsonFields.Describe(d)}");
            shape.Add(n);
        }

        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
            throw new InvalidInputException(path, $"{Where("data_offsets")}: expected [begin, end]");
        long[] span = new long[2];
        for (int i = 0; i < 2; i++)
            if (offsets[i].ValueKind != JsonValueKind.Number || !offsets[i].TryGetInt64(out span[i]) || span[i] < 0)
                throw new InvalidInputException(path, $"{Where("data_offsets")}: expected two non-negative integers, found {JsonFields.Describe(offsets[i])}");
        var (begin, end) = (span[0], span[1]);
        if (end < begin)
            throw new InvalidInputException(path, $"{Where("data_offsets")}: end {end} is before begin {begin}");
        if (end > dataLength)
            throw new InvalidInputException(path, $"{Where("data_offsets")}: bytes [{begin}, {end}) run past the data section ({dataLength} bytes)");

        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * dtype.Size); }
        catch (OverflowException) { throw new InvalidInputException(path, $"{Where("shape")}: [{string.Join(", ", shape)}] is too large"); }
        if (expected != end - begin)
            throw new InvalidInputException(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype.Name} needs {expected} bytes but data_offsets span {end - begin}");
        return new SafeTensorInfo(name, dtype, [.. shape], begin, end);
    }

    /// <summary>
    /// Reads one tensor into CPU memory in its stored dtype, then converts it to <paramref name="dtype"/>
    /// and moves it to <paramref name="device"/> when given.
    /// </summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        var info = Info(name);
        var stored = info.DType.ScalarType
            ?? throw new InvalidInputException(Path, $"tensor '{name}': dtype {info.DType.Name} cannot be loaded (supported: F64, F32, F16, BF16 and integer types)");
        var tensor = empty(info.Shape, stored, CPU);
        try
        {
            ReadInto(tensor, info);
            if ((dtype is null || dtype == stored) && (device is null || device.type == DeviceType.CPU)) return tensor;
            var converted = tensor.to(dtype ?? stored, device ?? CPU);
            tensor.Dispose();
            return converted;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    void ReadInto(Tensor destination, SafeTensorInfo info)
    {
        if (info.ByteLength == 0) return;
        using var flat = destination.view(-1);
        long perChunk = Math.Max(1, (1L << 30) / info.DType.Size);
        for (long first = 0; first < info.ElementCount; first += perChunk)
        {
            long count = Math.Min(perChunk, info.ElementCount - first);
            using var chunk = flat.narrow(0, first, count);
            var bytes = chunk.bytes;
            long offset = _dataStart + info.Begin + first * info.DType.Size;
            int read = 0;
            while (read < bytes.Length)
            {
                int n = RandomAccess.Read(_handle, bytes[read..], offset + read);
                if (n == 0) throw new InvalidInputException(Path, $"tensor '{info.Name}': file ended while reading its data");
                read += n;
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
