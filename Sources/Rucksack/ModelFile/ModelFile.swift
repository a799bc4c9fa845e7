import Foundation

/// Reads the JSON model description documented in `Docs/model-format.md`.
public enum ModelFile {
    /// The deepest nesting of JSON arrays and objects a model file may have: room for about
    /// 120 nested containers, and a bound on the recursion for hostile files.
    public static let maximumDepth = 256

    /// The largest model file read (16 MiB): far above any real description, and a bound on
    /// the work a hostile file can cause.
    public static let maximumSize = 16 << 20

    /// Builds the model a file describes, with zero-initialised parameters (load the weights next).
    ///
    /// With `parameterShapes` (a state dict's names and shapes, e.g. of the weights file that
    /// will be loaded), every parameter and buffer is checked against it before anything is
    /// allocated, so that a size in the model file that the weights do not have fails at once.
    public static func read<Scalar: TensorScalar>(
        from url: URL, as _: Scalar.Type = Scalar.self, parameterShapes: [String: [Int]]? = nil
    ) throws -> Model<Scalar> {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(from: url, limit: maximumSize) } catch let error as FormatError {
            throw ModelFileError.malformed(reason: "\(error)")
        }
        return try decode(Data(bytes), parameterShapes: parameterShapes)
    }

    /// Builds the model a JSON document describes; `parameterShapes` as in ``read(from:as:parameterShapes:)``.
    public static func decode<Scalar: TensorScalar>(
        _ data: Data, as _: Scalar.Type = Scalar.self, parameterShapes: [String: [Int]]? = nil
    ) throws -> Model<Scalar> {
        let document: JSONValue
        do { document = try JSONParser.parse(Array(data)[...], maximumDepth: maximumDepth, document: "the model file") } catch {
            throw ModelFileError.invalidJSON(offset: error.offset, reason: error.reason)
        }
        guard let top = document.members else {
            throw ModelFileError.malformed(reason: "the top level must be an object with a \"layers\" list")
        }
        if let (first, again) = document.firstDuplicateKey {
            throw ModelFileError.malformed(
                reason: "key '\(first.key)' appears twice at the top level (byte offsets \(first.keyOffset) and \(again.keyOffset))")
        }
        if let extra = top.first(where: { $0.key != "layers" }) {
            throw ModelFileError.malformed(reason: "unknown top-level key '\(extra.key)'")
        }
        guard case let .array(layers)? = top.first?.value.kind else {
            throw ModelFileError.malformed(reason: "the top level must be an object with a \"layers\" list")
        }
        return Model(try sequence(layers, at: Place(path: "", statePrefix: "", parameterShapes: parameterShapes)))
    }

    /// Where a node sits: its index path for messages, and the prefix of its state-dict names.
    struct Place {
        var path: String
        var statePrefix: String
        var parameterShapes: [String: [Int]]?

        func child(_ index: Int, _ item: JSONValue) -> Place {
            let name = item.members?.first(where: { $0.key == "name" }).flatMap { member -> String? in
                if case let .string(name) = member.value.kind { return name }
                return nil
            }
            return Place(path: path + "\(index)", statePrefix: statePrefix + (name ?? "\(index)") + ".", parameterShapes: parameterShapes)
        }
    }

    private static func sequence<Scalar: TensorScalar>(_ items: [JSONValue], at place: Place) throws -> ModelNode<Scalar> {
        let path = place.path
        let nodes: [ModelNode<Scalar>] = try items.enumerated().map { index, item in try node(item, at: place.child(index, item)) }
        // Two children with one label would share their parameter names in the state dict.
        var labels: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            let label = ModelNode.label(of: node, at: index)
            if let other = labels.updateValue(index, forKey: label) {
                throw ModelFileError.layer(
                    path: path + "\(index)", type: typeName(items[index]), key: "name",
                    reason: "'\(label)' is also the label of child \(other) of the same container; parameter names would collide")
            }
        }
        return .sequential(nodes)
    }

    private static func typeName(_ item: JSONValue) -> String {
        guard case let .string(type)? = item.members?.first(where: { $0.key == "type" })?.value.kind else { return "?" }
        return type
    }

    private static func node<Scalar: TensorScalar>(_ item: JSONValue, at place: Place) throws -> ModelNode<Scalar> {
        let path = place.path
        guard let members = item.members, case .string? = members.first(where: { $0.key == "type" })?.value.kind else {
            throw ModelFileError.layer(path: path, type: "?", key: "type", reason: "each layer must be an object with a string \"type\"")
        }
        let type = typeName(item)
        if let (first, again) = item.firstDuplicateKey {
            throw ModelFileError.layer(
                path: path, type: type, key: first.key,
                reason: "appears twice (byte offsets \(first.keyOffset) and \(again.keyOffset)); each key may appear once")
        }
        var arguments = LayerArguments(members, place: place, type: type)
        var result: ModelNode<Scalar>
        switch type {
        case "Sequential", "Parallel":
            let key = type == "Sequential" ? "layers" : "branches"
            guard case let .array(children)? = arguments.value(key)?.kind else {
                throw arguments.error(key, "must be a list of layers")
            }
            var inner = place
            inner.path += "."
            let nested: ModelNode<Scalar> = try sequence(children, at: inner)
            if type == "Parallel" {
                guard !children.isEmpty else { throw arguments.error(key, "needs at least one branch") }
                result = .parallel(nested.children)
            } else {
                result = nested
            }
        default:
            result = .layer(try LayerFactory<Scalar>.make(&arguments))
        }
        if let value = arguments.value("name") {
            guard case let .string(name) = value.kind, !name.isEmpty, !name.contains(".") else {
                throw arguments.error("name", "must be a non-empty string without dots, got \(value)")
            }
            result = .named(name, result)
        }
        try arguments.finish()
        return result
    }
}
