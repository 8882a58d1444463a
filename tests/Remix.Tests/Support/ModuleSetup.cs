using System.Runtime.CompilerServices;
using Remix.Runtime;

namespace Remix.Tests.Support;

static class ModuleSetup
{
    /// <summary>
    /// Some tests touch TorchSharp before any Remix type, so its native library is adapted first; and the test
    /// host, like the CLI, is the application that chooses the process-wide malloc settings training relies on.
    /// </summary>
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void Init()
    {
        GlibcxxCompat.EnsureTorchSharpLoadable();
        NativeHeap.RetainFreedMemory();
    }
#pragma warning restore CA2255
}
