import Foundation
@testable import RucksackExperiments
import Testing

/// `rsvg-convert` (librsvg) on the PATH, which CI installs.
private let rsvgConvert: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
    .map { URL(fileURLWithPath: String($0)).appendingPathComponent("rsvg-convert") }
    .first { FileManager.default.isExecutableFile(atPath: $0.path) }

@Suite struct SVGRenderTests {
    /// A figure converts to a PNG of the figure's size: the renderer accepts the document. Runs
    /// where `rsvg-convert` is installed (`apt-get install librsvg2-bin`), as CI does.
    @Test(.enabled(if: rsvgConvert != nil || ProcessInfo.processInfo.environment["CI"] == "true", "rsvg-convert is not installed"))
    func aFigureRendersToPNG() throws {
        let converter = try #require(rsvgConvert, "rsvg-convert is needed here (apt-get install librsvg2-bin)")
        let plot = LinePlot(title: "train loss: SGD & CG", xLabel: "epoch", yLabel: "train loss", series: [
            PlotSeries(label: "SGD", x: [0, 1, 2, 3], mean: [2.3, 2.2, 2.0, 1.7], deviation: [0, 0.1, 0.1, 0.2]),
            PlotSeries(label: "CG, 1 block", x: [0, 1, 2, 3], mean: [2.3, 1.5, 0.9, 0.6], deviation: [0, 0.05, 0.1, 0.05]),
        ], yScale: .log)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rucksack-render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (svg, png) = (folder.appendingPathComponent("figure.svg"), folder.appendingPathComponent("figure.png"))
        try Data(plot.svg().utf8).write(to: svg)
        let process = Process()
        process.executableURL = converter
        process.arguments = ["--format=png", "--output", png.path, svg.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let bytes = [UInt8](try Data(contentsOf: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // The IHDR chunk's width and height, big-endian, at bytes 16–23.
        let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect((width, height) == (Int(plot.width), Int(plot.height)))
    }
}
