// swift-tools-version: 6.0
import Foundation
import PackageDescription

let package = Package(
    name: "Rucksack",
    products: [
        .library(name: "Rucksack", targets: ["Rucksack"]),
        .executable(name: "rucksack", targets: ["RucksackCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // Hot loops in C so that one binary can pick AVX-512, AVX2 or SSE at run time.
        .target(name: "CRucksackKernels"),
        // zlib, for gzip-compressed data sets.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // Layer 1: tensors, BLAS, unfold/fold, random numbers, file formats. No neural networks.
        .target(
            name: "RucksackCore",
            dependencies: [
                "CRucksackKernels",
                "CZlib",
                .product(name: "RealModule", package: "swift-numerics"),
            ]
        ),
        // Layer 2: what a Swift user imports.
        .target(name: "Rucksack", dependencies: ["RucksackCore"]),
        // Applications built on the library: the demo and DP-SGD, with the MNIST digits they ship.
        .target(
            name: "RucksackExamples",
            dependencies: ["Rucksack"],
            resources: [.copy("Resources/mnist-subset")]
        ),
        // Experiments: data sets, the model zoo, training runs by the HBP paper's protocol, and
        // the SVG figures of their logs.
        .target(name: "RucksackExperiments", dependencies: ["Rucksack"]),
        // Layer 3: the command line.
        .executableTarget(
            name: "RucksackCLI",
            dependencies: [
                "Rucksack",
                "RucksackExamples",
                "RucksackExperiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Brute-force references shared by every test target.
        .target(
            name: "RucksackTestSupport",
            dependencies: ["RucksackCore"],
            path: "Tests/RucksackTestSupport"
        ),
        .testTarget(
            name: "RucksackCoreTests",
            dependencies: ["RucksackCore", "RucksackTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "RucksackTests",
            dependencies: ["Rucksack", "RucksackExamples", "RucksackTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "RucksackExperimentsTests",
            dependencies: ["RucksackExperiments", "Rucksack", "RucksackExamples", "RucksackTestSupport"]
        ),
        // Runs the command line on models, weights and batches exported from PyTorch.
        .testTarget(
            name: "RucksackCLITests",
            dependencies: ["RucksackCLI", "Rucksack", "RucksackExamples", "RucksackTestSupport"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// libFuzzer targets, only when asked for: they link only with `-sanitize=fuzzer`, whose driver
// their `main` calls (see scripts/fuzz.sh).
if ProcessInfo.processInfo.environment["RUCKSACK_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver"))
    for (name, library) in [("FuzzModelFile", "Rucksack"), ("FuzzSafeTensors", "RucksackCore"), ("FuzzNPY", "RucksackCore"), ("FuzzGzipIDX", "RucksackCore")] {
        package.targets.append(.executableTarget(name: name, dependencies: [.target(name: library), "FuzzDriver"], path: "Fuzz/\(name)"))
    }
}
