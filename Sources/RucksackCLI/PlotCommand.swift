import ArgumentParser
import Foundation
import RucksackExperiments

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw an experiment's figures as SVG from the logs that `rucksack train` wrote.",
        discussion: """
            Reads every run's seeds under <output>/<name>/, and for each figure of the config draws \
            the mean over seeds with a band of ± one standard deviation into \
            <output>/<name>/figures/<y>-vs-<x>.svg, and writes a Markdown table of every run's last \
            log entry (mean ± standard deviation over seeds) to figures/summary.md and standard output.
            """
    )

    @Option(help: "The experiment config (JSON) the runs were trained from.") var config: String
    @Option(help: "Where the runs were written.") var output = "runs"

    func run() throws {
        let experiment = Experiment(config: try ExperimentConfig.read(from: URL(fileURLWithPath: config)), output: URL(fileURLWithPath: output))
        for file in try experiment.plot() { print(file.path) }
        print(try experiment.summary(), terminator: "")
    }
}
