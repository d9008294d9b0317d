using System.Globalization;
using System.Security;
using System.Text;

namespace FastMlp.Cli.Output;

/// <summary>
/// A minimal SVG line chart (learning curves). Written by hand rather than with a plotting library: ScottPlot
/// restores here but brings SkiaSharp/HarfBuzz native binaries for every platform (about 540 MB in each output
/// folder), far too heavy for a .NET tool whose only picture is a line chart. The y axis turns logarithmic when
/// the values span more than a factor of 20.
/// </summary>
internal static class SvgPlot
{
    /// <summary>One line: its legend name, colour, points (NaN y values leave gaps) and whether it is dashed.</summary>
    public sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false);

    private const double Left = 80, Right = 24, Top = 48, Bottom = 64;

    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, int width = 800, int height = 480)
    {
        var finite = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        double xMin = finite.Count > 0 ? finite.Min(p => p.X) : 0, xMax = finite.Count > 0 ? finite.Max(p => p.X) : 1;
        double yMin = finite.Count > 0 ? finite.Min(p => p.Y) : 0, yMax = finite.Count > 0 ? finite.Max(p => p.Y) : 1;
        if (xMax <= xMin) { xMin -= 0.5; xMax += 0.5; }
        bool log = yMin > 0 && yMax / yMin > 20;

        double[] yTicks;
        if (log)
        {
            int lo = (int)Math.Floor(Math.Log10(yMin)), hi = (int)Math.Ceiling(Math.Log10(yMax));
            if (hi == lo) hi++;
            var ticks = new List<double>();
            for (int e = lo; e <= hi; e++)
                foreach (double m in hi - lo <= 2 ? new[] { 1.0, 2.0, 5.0 } : new[] { 1.0 })
                    ticks.Add(m * Math.Pow(10, e));
            yTicks = ticks.Where(t => t >= Math.Pow(10, lo) && t <= Math.Pow(10, hi)).ToArray();
            yMin = Math.Pow(10, lo);
            yMax = Math.Pow(10, hi);
        }
        else
        {
            yMin = Math.Min(0, yMin);
            if (yMax <= yMin) yMax = yMin + 1;
            yTicks = NiceTicks(yMin, yMax, 6);
            yMin = Math.Min(yMin, yTicks[0]);
            yMax = Math.Max(yMax, yTicks[^1]);
        }
        double[] xTicks = NiceTicks(xMin, xMax, 8).Where(t => t >= xMin - 1e-9 && t <= xMax + 1e-9).ToArray();

        double plotW = width - Left - Right, plotH = height - Top - Bottom;
        double X(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
        double Y(double y) => log
            ? Top + (1 - (Math.Log10(y) - Math.Log10(yMin)) / (Math.Log10(yMax) - Math.Log10(yMin))) * plotH
            : Top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

        var svg = new StringBuilder();
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect width="{width}" height="{height}" fill="white"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{width / 2}" y="26" text-anchor="middle" font-size="16">{Escape(title)}</text>""");
        foreach (double t in yTicks)
        {
            double y = Y(t);
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{F(Left)}" y1="{F(y)}" x2="{F(Left + plotW)}" y2="{F(y)}" stroke="#e0e0e0"/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{F(Left - 6)}" y="{F(y + 4)}" text-anchor="end">{Escape(Label(t))}</text>""");
        }
        foreach (double t in xTicks)
        {
            double x = X(t);
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{F(x)}" y1="{F(Top)}" x2="{F(x)}" y2="{F(Top + plotH)}" stroke="#f0f0f0"/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{F(x)}" y="{F(Top + plotH + 18)}" text-anchor="middle">{Escape(Label(t))}</text>""");
        }
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<rect x="{F(Left)}" y="{F(Top)}" width="{F(plotW)}" height="{F(plotH)}" fill="none" stroke="#404040"/>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{F(Left + plotW / 2)}" y="{height - 18}" text-anchor="middle">{Escape(xLabel)}</text>""");
        svg.AppendLine(CultureInfo.InvariantCulture, $"""<text transform="translate(20 {F(Top + plotH / 2)}) rotate(-90)" text-anchor="middle">{Escape(yLabel + (log ? " (log scale)" : ""))}</text>""");

        foreach (Series s in series)
        {
            var run = new List<string>();
            void Flush()
            {
                if (run.Count > 1)
                    svg.AppendLine(CultureInfo.InvariantCulture, $"""<polyline fill="none" stroke="{s.Color}" stroke-width="2"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")} points="{string.Join(' ', run)}"/>""");
                else if (run.Count == 1)
                {
                    string[] xy = run[0].Split(',');
                    svg.AppendLine(CultureInfo.InvariantCulture, $"""<circle cx="{xy[0]}" cy="{xy[1]}" r="3" fill="{s.Color}"/>""");
                }
                run.Clear();
            }
            foreach (var (px, py) in s.Points)
            {
                if (double.IsFinite(px) && double.IsFinite(py) && (!log || py > 0)) run.Add($"{F(X(px))},{F(Y(py))}");
                else Flush();
            }
            Flush();
        }

        double legendY = Top + 16;
        foreach (Series s in series.Where(s => s.Points.Any(p => double.IsFinite(p.Y))))
        {
            double lx = Left + plotW - 170;
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<line x1="{F(lx)}" y1="{F(legendY - 4)}" x2="{F(lx + 28)}" y2="{F(legendY - 4)}" stroke="{s.Color}" stroke-width="2"{(s.Dashed ? " stroke-dasharray=\"6 4\"" : "")}/>""");
            svg.AppendLine(CultureInfo.InvariantCulture, $"""<text x="{F(lx + 36)}" y="{F(legendY)}">{Escape(s.Name)}</text>""");
            legendY += 18;
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    /// <summary>About <paramref name="count"/> round tick values (1, 2 or 5 times a power of ten apart) covering [min, max].</summary>
    internal static double[] NiceTicks(double min, double max, int count)
    {
        double raw = (max - min) / Math.Max(1, count - 1);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
        double first = Math.Floor(min / step) * step, last = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (double t = first; t <= last + step / 2; t += step) ticks.Add(Math.Round(t / step) * step);
        return ticks.ToArray();
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Label(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(text) ?? "";
}
