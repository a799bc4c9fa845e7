import Foundation

/// One curve of a ``LinePlot``: a mean line over `x`, optionally with a band of ± one standard deviation.
public struct PlotSeries: Sendable, Equatable {
    /// The name shown in the legend.
    public var label: String
    /// Horizontal positions, for example epochs or wall-clock seconds.
    public var x: [Double]
    /// The mean at each position of `x`.
    public var mean: [Double]
    /// One standard deviation per point; nil or empty: no band.
    public var deviation: [Double]?

    /// Creates a series; ``LinePlot/svg()`` checks that the arrays have equal lengths.
    public init(label: String, x: [Double], mean: [Double], deviation: [Double]? = nil) {
        self.label = label
        self.x = x
        self.mean = mean
        self.deviation = deviation
    }
}

/// How the y axis maps values to heights.
public enum PlotScale: String, Sendable {
    /// Equal differences take equal heights.
    case linear
    /// Equal ratios take equal heights; every mean must be positive.
    case log
}

/// Why ``LinePlot/svg()`` could not draw a figure.
public enum PlotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A series whose `x`, `mean` and (non-empty) `deviation` differ in length.
    case mismatchedLengths(series: String, x: Int, mean: Int, deviation: Int?)
    /// No series has a point whose x and mean are both finite.
    case noFiniteData(title: String)
    /// A mean (or, for `series` "yRange", the fixed range's lower end) that a log axis cannot show.
    case nonPositiveOnLogScale(series: String, value: Double)

    /// A message naming the series or plot and the offending counts or value.
    public var description: String {
        switch self {
        case let .mismatchedLengths(series, x, mean, deviation):
            "series \"\(series)\" has \(x) x values, \(mean) means and \(deviation.map(String.init) ?? "no") deviations; they must be equally many"
        case let .noFiniteData(title):
            "plot \"\(title)\" has no finite point to draw"
        case let .nonPositiveOnLogScale(series, value):
            "series \"\(series)\" has the value \(value), which a log-scale y axis cannot show"
        }
    }
}

/// A line plot of training curves in the style of a paper figure, written as standalone SVG.
///
/// Each series is drawn as its mean line over a shaded band of ± one standard deviation, in a
/// fixed qualitative palette (Tableau 10), with framed axes, nice round ticks, a title and a legend.
/// The output is deterministic: the same plot always gives the same bytes.
public struct LinePlot: Sendable {
    /// The heading above the plot.
    public var title: String
    /// The label below the x axis.
    public var xLabel: String
    /// The label left of the y axis, rotated.
    public var yLabel: String
    /// The curves, drawn and listed in the legend in this order.
    public var series: [PlotSeries]
    /// Linear or logarithmic y axis.
    public var yScale: PlotScale = .linear
    /// A fixed x range; nil: from the data, widened to nice ticks. Points outside are clipped.
    public var xRange: ClosedRange<Double>?
    /// A fixed y range; nil: from the data shown, widened to nice ticks. Points outside are clipped.
    public var yRange: ClosedRange<Double>?
    /// The figure's width in pixels.
    public var width: Double = 480
    /// The figure's height in pixels.
    public var height: Double = 320

    /// Creates a plot with the default size of 480 × 320 pixels.
    public init(
        title: String, xLabel: String, yLabel: String, series: [PlotSeries], yScale: PlotScale = .linear,
        xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.yScale = yScale
        self.xRange = xRange
        self.yRange = yRange
    }

    /// A complete, standalone SVG 1.1 document (with XML declaration, xmlns, viewBox, width/height).
    ///
    /// Points whose x or mean is NaN or infinite are skipped and break the line there; a
    /// non-finite deviation breaks only the band. On a log axis a band reaching zero or below is cut
    /// at the smallest positive value in the data.
    /// - Throws: ``PlotError`` for arrays of unequal length, a plot without any finite point, or a
    ///   non-positive mean (or fixed y range) on a log axis.
    public func svg() throws -> String {
        let curves = try series.map(Curve.init(validating:))
        for (plotted, curve) in zip(series, curves) where yScale == .log {
            if let bad = curve.line.joined().first(where: { $0.y <= 0 }) {
                throw PlotError.nonPositiveOnLogScale(series: plotted.label, value: bad.y)
            }
        }
        guard curves.contains(where: { !$0.line.isEmpty }) else { throw PlotError.noFiniteData(title: title) }
        if yScale == .log, let low = yRange?.lowerBound, !(low > 0) {
            throw PlotError.nonPositiveOnLogScale(series: "yRange", value: low)
        }
        return SVGWriter(plot: self, curves: curves).document()
    }
}

/// The drawable runs of one series in data units, split wherever a value is not finite.
struct Curve {
    /// Runs of (x, mean) for the line.
    var line: [[(x: Double, y: Double)]] = []
    /// Runs of (x, mean − sd, mean + sd) for the band; empty without deviations.
    var band: [[(x: Double, low: Double, high: Double)]] = []
    /// Whether the series has deviations, hence a band sample in the legend.
    var hasBand = false

    init(validating series: PlotSeries) throws {
        let deviation = series.deviation.flatMap { $0.isEmpty ? nil : $0 }
        guard series.x.count == series.mean.count, deviation == nil || deviation?.count == series.x.count else {
            throw PlotError.mismatchedLengths(
                series: series.label, x: series.x.count, mean: series.mean.count, deviation: series.deviation?.count)
        }
        hasBand = deviation != nil
        var lineRun: [(x: Double, y: Double)] = [], bandRun: [(x: Double, low: Double, high: Double)] = []
        for (i, (x, mean)) in zip(series.x, series.mean).enumerated() {
            let finite = x.isFinite && mean.isFinite
            if finite { lineRun.append((x, mean)) } else if !lineRun.isEmpty { line.append(lineRun); lineRun = [] }
            guard let deviation else { continue }
            let sd = abs(deviation[i])
            if finite && sd.isFinite { bandRun.append((x, mean - sd, mean + sd)) } else if !bandRun.isEmpty { band.append(bandRun); bandRun = [] }
        }
        if !lineRun.isEmpty { line.append(lineRun) }
        if !bandRun.isEmpty { band.append(bandRun) }
    }
}

/// Lays out one ``LinePlot`` and writes its SVG document.
struct SVGWriter {
    /// Tableau 10: qualitative colours that stay distinguishable, cycled past ten series.
    static let palette = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]
    static let tickFont = 11.0, labelFont = 12.0, titleFont = 13.0, legendFont = 11.0

    let plot: LinePlot
    let curves: [Curve]

    /// A pixel rectangle.
    struct Box { var x, y, width, height: Double }

    func document() -> String {
        let log = plot.yScale == .log
        let points = curves.flatMap { $0.line.joined() }
        // Where a log band reaches zero or below, it is cut at the smallest positive data value.
        let lows: [Double] = curves.flatMap { $0.band.joined().map(\.low) }
        let lowest = (points.map(\.y) + lows).filter { $0 > 0 }.min() ?? 1
        let band = curves.map { $0.band.map { $0.map { (x: $0.x, low: log ? max($0.low, lowest) : $0.low, high: $0.high) } } }

        // Vertical layout, then y ticks (their labels' width sets the left margin), then x.
        let top = plot.title.isEmpty ? 12.0 : 30.0
        let bottom = 4 + 3 + Self.tickFont + (plot.xLabel.isEmpty ? 0 : 6 + Self.labelFont) + 8
        let plotHeight = max(plot.height - top - bottom, 10)
        let yIntervals = min(max(Int(plotHeight / 40), 2), 8)
        let fixedX = Self.usable(plot.xRange)
        let shown = { (x: Double) in fixedX?.contains(x) ?? true }
        var yValues = points.filter { shown($0.x) }.map(\.y) + band.flatMap { $0.joined().filter { shown($0.x) }.flatMap { [$0.low, $0.high] } }
        if yValues.isEmpty { yValues = points.map(\.y) }
        let yData = yValues.min()!...yValues.max()!
        let yRange: ClosedRange<Double>
        if let fixed = Self.usable(plot.yRange), fixed.upperBound > fixed.lowerBound {
            yRange = fixed
        } else {
            yRange = log ? AxisTicks.niceLogRange(Self.usable(plot.yRange) ?? yData)
                : AxisTicks.niceLinearRange(Self.usable(plot.yRange) ?? yData, maxIntervals: yIntervals)
        }
        let yTicks = log ? AxisTicks.log(yRange, maxIntervals: yIntervals) : AxisTicks.linear(yRange, maxIntervals: yIntervals)
        let yLabelWidth = yTicks.map { SVGText.estimatedWidth($0.label, fontSize: Self.tickFont) }.max() ?? 0
        let left = (plot.yLabel.isEmpty ? 6 : 4 + Self.labelFont + 6) + yLabelWidth + 8
        var right = 16.0
        var plotWidth = max(plot.width - left - right, 10)

        // Fewer x ticks until their labels no longer collide.
        let xs = points.map(\.x)
        let xData = xs.min()!...xs.max()!
        var xRange = xData, xTicks: [AxisTick] = []
        for intervals in stride(from: min(max(Int(plotWidth / 55), 2), 8), through: 1, by: -1) {
            if let fixed = fixedX, fixed.upperBound > fixed.lowerBound { xRange = fixed } else {
                xRange = AxisTicks.niceLinearRange(fixedX ?? xData, maxIntervals: intervals)
            }
            xTicks = AxisTicks.linear(xRange, maxIntervals: intervals)
            let widest = xTicks.map { SVGText.estimatedWidth($0.label, fontSize: Self.tickFont) }.max() ?? 0
            let spacing = xTicks.count < 2 ? plotWidth : (xTicks[1].value - xTicks[0].value) / (xRange.upperBound - xRange.lowerBound) * plotWidth
            if intervals == 1 || widest + 8 <= spacing { break }
        }
        if let last = xTicks.last, last.value >= xRange.upperBound - 1e-9 * (xRange.upperBound - xRange.lowerBound) {
            right = max(right, SVGText.estimatedWidth(last.label, fontSize: Self.tickFont) / 2 + 4)
            plotWidth = max(plot.width - left - right, 10)
        }

        let area = Box(x: left, y: top, width: plotWidth, height: plotHeight)
        let logY = log ? (log10(yRange.lowerBound), log10(yRange.upperBound)) : (0, 0)
        let px = { (x: Double) in area.x + (x - xRange.lowerBound) / (xRange.upperBound - xRange.lowerBound) * area.width }
        let py = { (y: Double) -> Double in
            let t = log ? (log10(y) - logY.0) / (logY.1 - logY.0) : (y - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound)
            return area.y + area.height * (1 - t)
        }
        let c = SVGText.coordinate

        var out: [String] = []
        let size = "width=\"\(c(plot.width))\" height=\"\(c(plot.height))\""
        out.append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>")
        out.append("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \(size) viewBox=\"0 0 \(c(plot.width)) \(c(plot.height))\" font-family=\"sans-serif\">")
        if !plot.title.isEmpty { out.append("<title>\(SVGText.escape(plot.title))</title>") }
        // The clip rectangle is 1 px larger so that a line lying on the frame is not cut in half.
        let clipID = "plot-clip-" + clipHash()
        out.append("<defs><clipPath id=\"\(clipID)\"><rect x=\"\(c(area.x - 1))\" y=\"\(c(area.y - 1))\" width=\"\(c(area.width + 2))\" height=\"\(c(area.height + 2))\"/></clipPath></defs>")
        out.append("<rect \(size) fill=\"white\"/>")

        // Grid at the major ticks, under the data.
        let areaRight = area.x + area.width, base = area.y + area.height
        let yTickPixels = yTicks.map { py($0.value) }, xTickPixels = xTicks.map { px($0.value) }
        let grid = yTickPixels.map { "M\(c(area.x)),\(c($0))H\(c(areaRight))" } + xTickPixels.map { "M\(c($0)),\(c(area.y))V\(c(base))" }
        out.append("<path class=\"grid\" d=\"\(grid.joined())\" fill=\"none\" stroke=\"#e8e8e8\" stroke-width=\"1\"/>")

        out.append("<g clip-path=\"url(#\(clipID))\">")
        for (index, runs) in band.enumerated() where !runs.isEmpty {
            let d = runs.map { run in
                "M" + (run.map { "\(c(px($0.x))),\(c(py($0.high)))" } + run.reversed().map { "\(c(px($0.x))),\(c(py($0.low)))" }).joined(separator: "L") + "Z"
            }
            out.append("<path class=\"band\" d=\"\(d.joined())\" fill=\"\(Self.color(index))\" fill-opacity=\"0.2\" stroke=\"none\"/>")
        }
        for (index, curve) in curves.enumerated() where !curve.line.isEmpty {
            // A lone point becomes a zero-length segment, which round caps draw as a dot.
            let d = curve.line.map { run in
                "M" + run.map { "\(c(px($0.x))),\(c(py($0.y)))" }.joined(separator: "L") + (run.count == 1 ? "h0" : "")
            }
            out.append("<path class=\"line\" d=\"\(d.joined())\" fill=\"none\" stroke=\"\(Self.color(index))\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>")
        }
        out.append("</g>")

        // Frame, outward ticks (minor ones shorter on a log axis), tick labels.
        out.append("<rect class=\"frame\" x=\"\(c(area.x))\" y=\"\(c(area.y))\" width=\"\(c(area.width))\" height=\"\(c(area.height))\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>")
        let minor = log ? AxisTicks.logMinor(yRange).map(py).map { "M\(c(area.x)),\(c($0))h-2" } : []
        let marks = yTickPixels.map { "M\(c(area.x)),\(c($0))h-4" } + minor + xTickPixels.map { "M\(c($0)),\(c(base))v4" }
        out.append("<path class=\"ticks\" d=\"\(marks.joined())\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>")
        out.append("<g font-size=\"\(c(Self.tickFont))\" fill=\"#333\">")
        for (tick, y) in zip(yTicks, yTickPixels) {
            out.append("<text x=\"\(c(area.x - 7))\" y=\"\(c(y + Self.tickFont * 0.35))\" text-anchor=\"end\">\(SVGText.escape(tick.label))</text>")
        }
        for (tick, x) in zip(xTicks, xTickPixels) {
            out.append("<text x=\"\(c(x))\" y=\"\(c(base + 7 + Self.tickFont * 0.8))\" text-anchor=\"middle\">\(SVGText.escape(tick.label))</text>")
        }
        out.append("</g>")

        if !plot.title.isEmpty {
            out.append("<text x=\"\(c(area.x + area.width / 2))\" y=\"\(c(top - 10))\" text-anchor=\"middle\" font-size=\"\(c(Self.titleFont))\">\(SVGText.escape(plot.title))</text>")
        }
        if !plot.xLabel.isEmpty {
            out.append("<text x=\"\(c(area.x + area.width / 2))\" y=\"\(c(plot.height - 8))\" text-anchor=\"middle\" font-size=\"\(c(Self.labelFont))\">\(SVGText.escape(plot.xLabel))</text>")
        }
        if !plot.yLabel.isEmpty {
            let (x, y) = (c(4 + Self.labelFont), c(area.y + area.height / 2))
            out.append("<text x=\"\(x)\" y=\"\(y)\" transform=\"rotate(-90 \(x) \(y))\" text-anchor=\"middle\" font-size=\"\(c(Self.labelFont))\">\(SVGText.escape(plot.yLabel))</text>")
        }
        out += legend(in: area, px: px, py: py)
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The legend, in whichever inner corner of `area` its box hides the fewest line points
    /// (upper right first on ties). Series with an empty label are left out.
    func legend(in area: Box, px: (Double) -> Double, py: (Double) -> Double) -> [String] {
        let entries = plot.series.indices.filter { !plot.series[$0].label.isEmpty }
        guard !entries.isEmpty else { return [] }
        let row = 16.0, pad = 6.0, sample = 18.0
        let widest = entries.map { SVGText.estimatedWidth(plot.series[$0].label, fontSize: Self.legendFont) }.max()!
        let width = pad + sample + pad + widest + pad, height = pad * 2 + row * Double(entries.count)
        let (left, right) = (area.x + 8, area.x + area.width - 8 - width)
        let (top, bottom) = (area.y + 8, area.y + area.height - 8 - height)
        let corners = [(right, top), (right, bottom), (left, top), (left, bottom)]
        // Points along every segment, so that a line crossing the box counts even between data points.
        var samples: [(x: Double, y: Double)] = []
        for run in curves.flatMap(\.line) {
            for (a, b) in zip(run, run.dropFirst()) {
                for t in stride(from: 0.0, to: 1, by: 0.125) {
                    samples.append((px(a.x + (b.x - a.x) * t), py(a.y + (b.y - a.y) * t)))
                }
            }
            if let last = run.last { samples.append((px(last.x), py(last.y))) }
        }
        let hidden = corners.map { (cornerX: Double, cornerY: Double) -> Int in
            let xs = cornerX...(cornerX + width), ys = cornerY...(cornerY + height)
            return samples.count { xs.contains($0.x) && ys.contains($0.y) }
        }
        let (x, y) = corners[hidden.indices.min { hidden[$0] < hidden[$1] }!]
        let c = SVGText.coordinate
        var out = ["<g class=\"legend\" font-size=\"\(c(Self.legendFont))\">"]
        out.append("<rect x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(width))\" height=\"\(c(height))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#cccccc\" stroke-width=\"0.8\"/>")
        for (rowIndex, index) in entries.enumerated() {
            let middle = y + pad + row * (Double(rowIndex) + 0.5)
            let color = Self.color(index)
            if curves[index].hasBand {
                out.append("<rect x=\"\(c(x + pad))\" y=\"\(c(middle - 4))\" width=\"\(c(sample))\" height=\"8\" fill=\"\(color)\" fill-opacity=\"0.2\"/>")
            }
            out.append("<path d=\"M\(c(x + pad)),\(c(middle))h\(c(sample))\" stroke=\"\(color)\" stroke-width=\"1.5\"/>")
            out.append("<text x=\"\(c(x + pad * 2 + sample))\" y=\"\(c(middle + Self.legendFont * 0.35))\">\(SVGText.escape(plot.series[index].label))</text>")
        }
        out.append("</g>")
        return out
    }

    static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// `range` if both ends are finite, else nil (then the data decide).
    static func usable(_ range: ClosedRange<Double>?) -> ClosedRange<Double>? {
        guard let range, range.lowerBound.isFinite, range.upperBound.isFinite else { return nil }
        return range
    }

    /// A stable id (FNV-1a, not `Hasher`, which is seeded per process) so that several figures
    /// inlined in one HTML page keep distinct clip paths and the bytes stay the same run to run.
    func clipHash() -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let text = [plot.title, plot.xLabel, plot.yLabel, "\(plot.width)x\(plot.height)"] + plot.series.map(\.label)
        for byte in text.joined(separator: "\u{1F}").utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
