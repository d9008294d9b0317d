using System.CommandLine;
using FastMlp.IO;

namespace FastMlp.Cli.Commands;

/// <summary>The --model option shared by evaluate and predict, and loading with CLI-style errors.</summary>
internal static class ModelOption
{
    public static Option<string> Create() => new("--model", "-m")
    {
        Description = "The model file written by 'fastmlp train'.",
        DefaultValueFactory = _ => TrainCommand.DefaultOutput,
    };

    public static Model Load(string path)
    {
        if (Directory.Exists(path))
            throw new CliException($"--model '{path}' is a folder, not a model file.");
        if (!File.Exists(path))
            throw new CliException($"The model file '{path}' does not exist (train one with 'fastmlp train --output {path}').");
        return ModelFile.Load(path);
    }
}
