import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import RucksackExperiments
import Testing

/// Parses a document and keeps what the tests look at: the root, every element's attributes, the text of each element.
private final class SVGInspector: NSObject, XMLParserDelegate {
    var root: String?
    var elements: [(name: String, attributes: [String: String])] = []
    var texts: [String] = []
    private var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if root == nil { root = name }
        elements.append((name, attributes))
        text = ""
    }

    // Entities may arrive as separate pieces, so text is collected until the element ends.
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if !text.isEmpty { texts.append(text) }
        text = ""
    }

    /// Parses `svg`; returns nil when the parser reports an error.
    static func parse(_ svg: String) -> SVGInspector? {
        let inspector = SVGInspector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = inspector
        return parser.parse() && parser.parserError == nil ? inspector : nil
    }

    func paths(class name: String) -> [String] {
        elements.filter { $0.name == "path" && $0.attributes["class"] == name }.map { $0.attributes["d"] ?? "" }
    }
}

@Suite("SVG line plots")
struct LinePlotTests {
    static let awkward = "PCH, abs & <α = 1e-3> \"quoted\" 'single'"

    static func plot(_ series: [PlotSeries], scale: PlotScale = .linear) -> LinePlot {
        LinePlot(title: "loss & <friends>", xLabel: "epoch", yLabel: "loss", series: series, yScale: scale)
    }

    static let sample = [
        PlotSeries(label: "SGD", x: [0, 1, 2, 3], mean: [2.3, 1.1, 0.7, 0.5], deviation: [0.2, 0.1, 0.1, 0.05]),
        PlotSeries(label: awkward, x: [0, 1, 2, 3], mean: [2.0, 0.9, 0.6, 0.45], deviation: [0.3, 0.2, 0.1, 0.1]),
    ]

    @Test("the document is well-formed XML with an svg root")
    func wellFormed() throws {
        for scale in [PlotScale.linear, .log] {
            let svg = try Self.plot(Self.sample, scale: scale).svg()
            #expect(svg.hasPrefix("<?xml version=\"1.0\""))
            let inspector = try #require(SVGInspector.parse(svg))
            #expect(inspector.root == "svg")
            let attributes = try #require(inspector.elements.first?.attributes)
            #expect(attributes["xmlns"] == "http://www.w3.org/2000/svg")
            #expect(attributes["viewBox"] == "0 0 480 320")
        }
    }

    @Test("labels with & < > \" ' are escaped and read back as the same text")
    func escaping() throws {
        let plot = LinePlot(title: Self.awkward, xLabel: "x <" + Self.awkward, yLabel: "y & \"y\"", series: Self.sample)
        let svg = try plot.svg()
        #expect(!svg.contains("& <"))
        #expect(svg.contains("&amp; &lt;α = 1e-3&gt; &quot;quoted&quot; &apos;single&apos;"))
        let texts = try #require(SVGInspector.parse(svg)).texts
        #expect(texts.contains(Self.awkward))
        #expect(texts.contains("x <" + Self.awkward))
        #expect(texts.contains("y & \"y\""))
    }

    @Test("each series gives one band and one line; NaN splits a line into two subpaths")
    func bandsAndLines() throws {
        var series = Self.sample
        series.append(PlotSeries(label: "with a gap", x: [0, 1, 2, 3, 4], mean: [1, 0.8, .nan, 0.5, 0.4]))
        series.append(PlotSeries(label: "empty", x: [], mean: []))
        let svg = try Self.plot(series).svg()
        let inspector = try #require(SVGInspector.parse(svg))
        #expect(inspector.paths(class: "band").count == 2)  // the last two have no deviation
        let lines = inspector.paths(class: "line")
        #expect(lines.count == 3)  // the empty series is in the legend only
        #expect(lines.map { $0.count { $0 == "M" } } == [1, 1, 2])
        #expect(inspector.texts.contains("empty"))
    }

    @Test("arrays of unequal length throw with the three counts")
    func mismatchedLengths() {
        let bad = PlotSeries(label: "bad", x: [0, 1, 2], mean: [1, 2, 3], deviation: [0.1, 0.2])
        #expect(throws: PlotError.mismatchedLengths(series: "bad", x: 3, mean: 3, deviation: 2)) {
            try Self.plot([bad]).svg()
        }
        let short = PlotSeries(label: "short", x: [0, 1], mean: [1])
        #expect(throws: PlotError.mismatchedLengths(series: "short", x: 2, mean: 1, deviation: nil)) {
            try Self.plot([short]).svg()
        }
        #expect(PlotError.mismatchedLengths(series: "bad", x: 3, mean: 3, deviation: 2).description.contains("bad"))
    }

    @Test("no finite point, or a non-positive mean on a log axis, throws")
    func otherErrors() {
        #expect(throws: PlotError.noFiniteData(title: "loss & <friends>")) {
            try Self.plot([PlotSeries(label: "nan", x: [0, 1], mean: [.nan, .infinity])]).svg()
        }
        #expect(throws: PlotError.nonPositiveOnLogScale(series: "zero", value: 0)) {
            try Self.plot([PlotSeries(label: "zero", x: [0, 1], mean: [1, 0])], scale: .log).svg()
        }
        // A band reaching below zero is cut, not rejected.
        #expect(throws: Never.self) {
            try Self.plot([PlotSeries(label: "wide", x: [0, 1], mean: [1, 0.1], deviation: [2, 2])], scale: .log).svg()
        }
    }

    @Test("nice ticks: 1/2/5 steps on a linear axis, powers of ten on a log axis")
    func ticks() {
        #expect(AxisTicks.linear(0...2.3).map(\.value) == [0, 0.5, 1, 1.5, 2])
        #expect(AxisTicks.linear(0...2.3).map(\.label) == ["0", "0.5", "1", "1.5", "2"])
        #expect(AxisTicks.linear(0...0.7).map(\.label) == ["0", "0.2", "0.4", "0.6"])
        #expect(AxisTicks.log(1e-3...2).map(\.value) == [0.001, 0.01, 0.1, 1])
        #expect(AxisTicks.log(1e-3...2).map(\.label) == ["0.001", "0.01", "0.1", "1"])
        #expect(AxisTicks.niceLinearRange(0.1...2.3) == 0...2.5)
        #expect(SVGText.decimal(significand: 3, exponent: -1) == "0.3")
        #expect(SVGText.decimal(significand: 25, exponent: -6) == "2.5e-5")
    }

    @Test("the same input gives the same bytes")
    func deterministic() throws {
        let plot = Self.plot(Self.sample)
        let first = try plot.svg()
        #expect(first == (try plot.svg()))
        #expect(first == (try Self.plot(Self.sample).svg()))
        #expect(first != (try Self.plot(Array(Self.sample.reversed())).svg()))
    }
}
