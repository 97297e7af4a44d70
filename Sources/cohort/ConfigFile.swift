import Foundation
import Yams

/// A `--config` file: YAML `key: value` lines whose keys are the long names
/// of `cohort serve`'s options (`max-connections: 10000`).
///
/// YAML rather than TOML: the effective configuration is printed back as
/// YAML (`--print-config`), so what an operator copies from it is a valid
/// file; Yams carries libyaml's C sources, so it needs no system library.
struct ConfigFile: Equatable, Sendable {
    /// As given to `--config`, for messages.
    var path: String
    /// The value of each key, as text (a YAML list is joined with commas).
    var values: [String: String]

    /// The file `--config` names, else `COHORT_CONFIG` (empty: unset), read
    /// and checked; nil when neither names one. `serve` and `records` alike.
    static func load(flag: String?, environment: [String: String]) throws(ConfigFileError) -> ConfigFile? {
        guard let path = flag ?? environment["COHORT_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        return try load(path: path)
    }

    /// Reads and checks `path`.
    static func load(path: String) throws(ConfigFileError) -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        return try parse(text, path: path)
    }

    /// Parses `text`: a mapping of known option names to single values.
    static func parse(_ text: String, path: String) throws(ConfigFileError) -> ConfigFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw .notYAML(path: path, reason: "\(error)")
        }
        guard let root else { return ConfigFile(path: path, values: [:]) }
        guard let mapping = root.mapping else { throw .notAMapping(path: path) }
        var values: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            let line = keyNode.mark?.line
            guard let key = keyNode.scalar?.string else { throw .badKey(path: path, line: line) }
            guard ServeOption.named(key) != nil else {
                throw .unknownKey(path: path, line: line, key: key, suggestion: ServeOption.nearest(to: key))
            }
            // A key given twice is refused by Yams already ("duplicated key(s)").
            values[key] = try value(of: valueNode, key: key, path: path, line: line)
        }
        return ConfigFile(path: path, values: values)
    }

    private static func value(of node: Node, key: String, path: String, line: Int?) throws(ConfigFileError) -> String {
        switch node {
        case .scalar(let s):
            // `key:` alone, `~` or `null`: say so rather than fall back to the default unseen.
            if s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string) {
                throw .noValue(path: path, line: line, key: key)
            }
            return s.string
        case .sequence(let items):
            // `allowed-origins: [a, b]` means what `--allowed-origins a,b` does.
            var parts: [String] = []
            for item in items {
                guard let s = item.scalar?.string else { throw .notAValue(path: path, line: line, key: key) }
                parts.append(s)
            }
            return parts.joined(separator: ",")
        case .mapping, .alias:
            throw .notAValue(path: path, line: line, key: key)
        }
    }
}

/// Why a `--config` file cannot be used, naming the file, line and key.
enum ConfigFileError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case notYAML(path: String, reason: String)
    case notAMapping(path: String)
    case badKey(path: String, line: Int?)
    case unknownKey(path: String, line: Int?, key: String, suggestion: String?)
    case noValue(path: String, line: Int?, key: String)
    case notAValue(path: String, line: Int?, key: String)

    var description: String {
        func at(_ path: String, _ line: Int?) -> String { line.map { "\(path):\($0)" } ?? path }
        switch self {
        case .unreadable(let path, let reason):
            return "--config \(path): cannot read it: \(reason)"
        case .notYAML(let path, let reason):
            return "--config \(path) is not YAML: \(reason)"
        case .notAMapping(let path):
            return "--config \(path) must be `key: value` lines (a YAML mapping) with serve's option names as keys"
        case .badKey(let path, let line):
            return "\(at(path, line)): a key must be an option name"
        case .unknownKey(let path, let line, let key, let suggestion):
            return "\(at(path, line)): unknown key \"\(key)\"" + (suggestion.map { "; did you mean \"\($0)\"?" } ?? "")
                + " (`cohort serve --help` lists the options)"
        case .noValue(let path, let line, let key):
            return "\(at(path, line)): key \"\(key)\" has no value; remove the line to use the default"
        case .notAValue(let path, let line, let key):
            return "\(at(path, line)): key \"\(key)\" must be a single value (or, for a list, values)"
        }
    }
}
