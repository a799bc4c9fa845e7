import Foundation

/// Reads the JSON model description documented in `Docs/model-format.md`.
public enum ModelFile {
    /// Builds the model a file describes, with zero-initialised parameters (load the weights next).
    public static func read<Scalar: TensorScalar>(from url: URL, as _: Scalar.Type = Scalar.self) throws -> Model<Scalar> {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelFileError.malformed(reason: "cannot read \(url.path): \(error.localizedDescription)")
        }
        return try decode(data)
    }

    /// Builds the model a JSON document describes.
    public static func decode<Scalar: TensorScalar>(_ data: Data, as _: Scalar.Type = Scalar.self) throws -> Model<Scalar> {
        let document: JSONValue
        do { document = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw ModelFileError.malformed(reason: "not valid JSON (\(error))")
        }
        guard case let .object(top) = document, case let .array(layers)? = top["layers"] else {
            throw ModelFileError.malformed(reason: "the top level must be an object with a \"layers\" list")
        }
        if let extra = top.keys.sorted().first(where: { $0 != "layers" }) {
            throw ModelFileError.malformed(reason: "unknown top-level key '\(extra)'")
        }
        return Model(try sequence(layers, path: ""))
    }

    private static func sequence<Scalar: TensorScalar>(_ items: [JSONValue], path: String) throws -> ModelNode<Scalar> {
        .sequential(try items.enumerated().map { index, item in try node(item, path: path + "\(index)") })
    }

    private static func node<Scalar: TensorScalar>(_ item: JSONValue, path: String) throws -> ModelNode<Scalar> {
        guard case let .object(values) = item, case let .string(type)? = values["type"] else {
            throw ModelFileError.layer(path: path, type: "?", key: "type", reason: "each layer must be an object with a string \"type\"")
        }
        var arguments = LayerArguments(values, path: path, type: type)
        var result: ModelNode<Scalar>
        switch type {
        case "Sequential", "Parallel":
            let key = type == "Sequential" ? "layers" : "branches"
            guard case let .array(children)? = arguments.value(key) else {
                throw arguments.error(key, "must be a list of layers")
            }
            let nested: ModelNode<Scalar> = try sequence(children, path: path + ".")
            if type == "Parallel" {
                guard !children.isEmpty else { throw arguments.error(key, "needs at least one branch") }
                result = .parallel(nested.children)
            } else {
                result = nested
            }
        default:
            result = .layer(try LayerFactory<Scalar>.make(&arguments))
        }
        switch arguments.value("name") {
        case nil: break
        case let .string(name)? where !name.isEmpty && !name.contains("."):
            result = .named(name, result)
        case let other?:
            throw arguments.error("name", "must be a non-empty string without dots, got \(other)")
        }
        try arguments.finish()
        return result
    }
}
