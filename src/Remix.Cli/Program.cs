using Remix.Cli;

return CliApp.Run(args);
