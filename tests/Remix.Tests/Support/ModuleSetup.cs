using System.Runtime.CompilerServices;
using Remix.Runtime;

namespace Remix.Tests.Support;

static class ModuleSetup
{
    /// <summary>Some tests touch TorchSharp before any Remix type; adapt its native library first.</summary>
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void Init() => GlibcxxCompat.EnsureTorchSharpLoadable();
#pragma warning restore CA2255
}
