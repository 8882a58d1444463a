using Remix.Cli;
using Remix.Runtime;

NativeHeap.RetainFreedMemory(); // training and generation reallocate the same tensors step after step
return CliApp.Run(args);
