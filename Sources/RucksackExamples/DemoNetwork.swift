import Foundation
import Rucksack

/// The network and data the examples share.
public enum DemoSetup {
    /// The demo's network: two 5×5 convolutions with ReLU and 2×2 max pooling, then a linear
    /// classifier, for `[N, 1, 28, 28]` images and 10 classes.
    public static func network(seed: UInt64) throws -> Model<Float> {
        var model = Model<Float>(sequential: [
            try Convolution(inChannels: 1, outChannels: 8, geometry: ConvolutionGeometry(kernelSize: [5, 5])),
            ReLU(), try MaxPool(PoolingWindow(kernelSize: [2, 2])),
            try Convolution(inChannels: 8, outChannels: 16, geometry: ConvolutionGeometry(kernelSize: [5, 5])),
            ReLU(), try MaxPool(PoolingWindow(kernelSize: [2, 2])),
            Flatten(), try Linear(inFeatures: 256, outFeatures: 10),
        ])
        try model.initializeParameters(seed: seed)
        return model
    }

    /// The 4000 training and 1000 test MNIST digits that ship with Rucksack, as IDX files.
    public static func shippedMNISTSubset() throws -> URL {
        guard let url = Bundle.module.url(forResource: "mnist-subset", withExtension: nil) else {
            throw DataError.missingFile(path: "mnist-subset", expected: "the MNIST digits in the resource bundle of RucksackExamples")
        }
        return url
    }
}
