using Remix.Data;
using Remix.Data.Formats;
using Remix.Tests.Support;

namespace Remix.Tests.Data;

public class BadInputTests
{
    const string Good = "{\"question\": \"q1\", \"answer\": \"a #### 1\"}";

    static string Write(TempDir dir, string name, string content)
    {
        File.WriteAllText(dir.File(name), content);
        return dir.File(name);
    }

    [Fact]
    public void MalformedRow_StopsNamingFileLineAndField()
    {
        using var dir = new TempDir();
        var path = Write(dir, "g.jsonl", $"{Good}\n{{\"question\": 5, \"answer\": \"b #### 2\"}}\n{Good}\n");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path));
        Assert.Equal($"{path}: line 2: field 'question': expected a string, found 5", e.Message);
    }

    [Fact]
    public void MalformedJsonLine_NamesTheLine()
    {
        using var dir = new TempDir();
        var path = Write(dir, "g.jsonl", $"{Good}\n\n{{\"question\": \"x\", \n{Good}\n");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path));
        Assert.StartsWith($"{path}: line 3: malformed JSON", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void SkipBad_SkipsAndCountsMalformedRows()
    {
        using var dir = new TempDir();
        var path = Write(dir, "g.jsonl", $"{Good}\n{{\"question\": 5}}\nnot json\n{Good}\n");
        var r = DatasetReader.Read(path, new DatasetReadOptions { SkipBad = true });
        Assert.Equal((2, 2), (r.Examples.Count, r.Skipped));
        Assert.Equal(2, r.SkipReasons["malformed"]);
        Assert.Equal(2, r.BadRowErrors.Count);
        Assert.Contains("line 2", r.BadRowErrors[0]);
    }

    [Fact]
    public void EmptyResult_IsAnError()
    {
        using var dir = new TempDir();
        var path = Write(dir, "g.jsonl", "{\"question\": 5, \"answer\": \"#### 1\"}\n");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path, new DatasetReadOptions { Format = "gsm8k", SkipBad = true }));
        Assert.Equal($"{path}: no examples found (format gsm8k; skipped: 1 malformed)", e.Message);
    }

    [Fact]
    public void InvalidUtf8_IsAnErrorNamingTheLine()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.jsonl");
        File.WriteAllBytes(path, [.. System.Text.Encoding.UTF8.GetBytes(Good + "\n{\"question\": \"caf"), 0xC3, 0x28, .. System.Text.Encoding.UTF8.GetBytes("\", \"answer\": \"#### 1\"}\n")]);
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path, new DatasetReadOptions { Format = "gsm8k" }));
        Assert.Equal($"{path}: line 2: invalid UTF-8", e.Message);

        var json = dir.File("bad.json");
        File.WriteAllBytes(json, [.. System.Text.Encoding.UTF8.GetBytes("[\n{\"instruction\": \"x\",\n \"output\": \"y"), 0xFF, .. System.Text.Encoding.UTF8.GetBytes("\"}]")]);
        var e2 = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(json, new DatasetReadOptions { Format = "evol-instruct-code" }));
        Assert.Equal($"{json}: line 3: invalid UTF-8", e2.Message);
    }

    [Fact]
    public void JsonListItem_ErrorsNameTheItemsLine()
    {
        using var dir = new TempDir();
        var path = Write(dir, "eq.json", "[\n  {\"question\": \"a?\", \"answers\": [\"x\"]},\n  {\"question\": \"b?\", \"answers\": []}\n]");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path));
        Assert.Equal($"{path}: line 3: field 'answers': expected a non-empty list of strings, found a list", e.Message);
    }

    [Fact]
    public void TsvRowWithWrongFieldCount_IsRefused()
    {
        using var dir = new TempDir();
        var path = Write(dir, "p.tsv", "id\tquestion\tpossible_answers\n1\tWho?\t[\"x\"]\n2\tWhat?\n");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path));
        Assert.Equal($"{path}: line 3: expected 3 tab-separated fields, found 2", e.Message);
    }

    [Fact]
    public void MissingFile_IsRefused()
    {
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read("no-such-file.jsonl"));
        Assert.Equal("no-such-file.jsonl: file not found", e.Message);
    }

    [Fact]
    public void RemixFormat_RefusesAConversationWithoutAnAnswer()
    {
        using var dir = new TempDir();
        var path = Write(dir, "r.jsonl", "{\"id\": \"1\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
        var e = Assert.Throws<InvalidInputException>(() => DatasetReader.Read(path));
        Assert.StartsWith($"{path}: line 1: field 'messages': expected at least one assistant turn", e.Message);
    }
}
