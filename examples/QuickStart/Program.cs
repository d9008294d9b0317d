// The README's library quick-start, kept compiling and running by .ci/run.
using System.Globalization;
using FastMlp;
using FastMlp.Data;
using FastMlp.Training;

// 1. Load digits (8x8 images, 64 features, labels 0-9) into a Dataset.
string[] lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "digits.csv"))[1..];
var features = new float[lines.Length * 64];
var labels = new int[lines.Length];
for (int i = 0; i < lines.Length; i++)
{
    string[] fields = lines[i].Split(',');
    for (int j = 0; j < 64; j++) features[i * 64 + j] = float.Parse(fields[j], CultureInfo.InvariantCulture);
    labels[i] = int.Parse(fields[64], CultureInfo.InvariantCulture);
}
var (train, test) = Dataset.ForClassification(features, 64, labels).Split(0.25, seed: 42);

// 2. Train a 64-64-10 network (ReLU hidden, softmax + cross-entropy output, z-score inputs, Adam).
ModelTrainingResult result = Model.Train(train, new ModelOptions
{
    HiddenLayers = [64],
    Training = new TrainerOptions { Optimizer = new() { LearningRate = 0.002f }, BatchSize = 32, Epochs = 40, Seed = 1 },
});
Model model = result.Model;

// 3. Evaluate, then predict one sample (no allocation per call).
Console.WriteLine($"test accuracy: {model.EvaluateClassifier(test).Accuracy:P1}");
Span<float> probabilities = stackalloc float[10];
model.Predict(test.Row(0), probabilities);
Console.WriteLine($"first test sample: class {model.PredictClass(test.Row(0))}, p = {probabilities[model.PredictClass(test.Row(0))]:F3}, label {test.Labels[0]}");
