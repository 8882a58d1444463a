using Microsoft.Playwright;

namespace Remix.Tests.Support;

/// <summary>
/// A page opened from a file in the system's Chromium (Debian's <c>chromium</c>), headless, driven by Playwright, with the
/// network off: every request but the file's own is failed and recorded, as is every console error and uncaught exception.
/// Where no Chromium is installed the test is skipped with the line that says why, unless <c>REMIX_BROWSER_REQUIRED</c> is set
/// (.ci/run installs Chromium and sets it, so that there the test runs or fails).
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    readonly IPlaywright _playwright;
    readonly IBrowser _browser;

    HeadlessChromium(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        _browser = browser;
        Page = page;
    }

    public IPage Page { get; }

    /// <summary>Requests the page made for anything but a local file: failed, and listed here.</summary>
    public List<string> Blocked { get; } = [];

    /// <summary>Console errors and uncaught exceptions.</summary>
    public List<string> Errors { get; } = [];

    /// <summary>The Chromium binary: <c>REMIX_CHROMIUM</c>, else the first of Debian's names found on PATH; null when none.</summary>
    public static string? Executable()
    {
        if (Environment.GetEnvironmentVariable("REMIX_CHROMIUM") is { Length: > 0 } given) return given;
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new[] { "chromium", "chromium-browser" }.SelectMany(name => path.Select(dir => Path.Combine(dir, name))).FirstOrDefault(File.Exists);
    }

    /// <summary>Opens <paramref name="file"/> offline; skips the test where no Chromium is installed (and not required).</summary>
    public static async Task<HeadlessChromium> Open(string file)
    {
        var executable = Executable();
        bool required = Environment.GetEnvironmentVariable("REMIX_BROWSER_REQUIRED") is { Length: > 0 };
        if (executable is null && required) Assert.Fail("REMIX_BROWSER_REQUIRED is set but no chromium is on PATH (nor REMIX_CHROMIUM): apt-get install chromium");
        Skip.If(executable is null, "no Chromium here (chromium not on PATH, REMIX_CHROMIUM not set): apt-get install chromium, or run .ci/run, which installs it");
        var playwright = await Playwright.CreateAsync();
        // The system's browser, never one Playwright would download.
        var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = executable, Headless = true, Args = ["--no-sandbox", "--disable-gpu"] });
        var context = await browser.NewContextAsync(new() { Offline = true, ViewportSize = new() { Width = 1400, Height = 1000 } });
        var page = await context.NewPageAsync();
        var chromium = new HeadlessChromium(playwright, browser, page);
        var uri = new Uri(Path.GetFullPath(file)).AbsoluteUri;
        await context.RouteAsync("**/*", async route =>
        {
            if (route.Request.Url == uri) await route.ContinueAsync();
            else
            {
                lock (chromium.Blocked) chromium.Blocked.Add(route.Request.Url);
                await route.AbortAsync("blockedbyclient");
            }
        });
        page.Console += (_, message) =>
        {
            if (message.Type == "error") lock (chromium.Errors) chromium.Errors.Add($"console: {message.Text}");
        };
        page.PageError += (_, error) => { lock (chromium.Errors) chromium.Errors.Add($"exception: {error}"); };
        await page.GotoAsync(uri, new() { WaitUntil = WaitUntilState.Load });
        return chromium;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.CloseAsync();
        _playwright.Dispose();
    }
}
