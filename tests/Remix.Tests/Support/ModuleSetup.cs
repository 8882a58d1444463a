using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Remix.Runtime;

namespace Remix.Tests.Support;

static unsafe class ModuleSetup
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
        UnignoreSigInt();
    }
#pragma warning restore CA2255

    /// <summary>
    /// A test host started in the background by a non-interactive shell (<c>.ci/run &amp;</c>, nohup) inherits SIGINT
    /// ignored, as POSIX has it for background jobs, and so would every remix process the tests start: the tests that send
    /// one a Ctrl+C would then see it ignored and the run finish. Where SIGINT is ignored, the host sets it back to the
    /// default action, so that the processes it starts get a SIGINT as a terminal's foreground job does. A handler the
    /// runtime installed is left alone.
    /// </summary>
    static void UnignoreSigInt()
    {
        if (!OperatingSystem.IsLinux()) return;
        const int sigInt = 2;
        var old = stackalloc byte[256]; // struct sigaction (152 bytes on Linux): its first field is the handler
        if (SigAction(sigInt, null, old) != 0) return;
        if (*(nint*)old == 1) Signal(sigInt, 0); // SIG_IGN -> SIG_DFL
    }

    [DllImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    static extern int SigAction(int signal, void* action, void* oldAction);

    [DllImport("libc", EntryPoint = "signal")]
    static extern nint Signal(int signal, nint handler);
}
