/// Where the value of one option came from, for `--print-config` and for
/// naming the option in an error the way the operator wrote it.
enum SettingSource: Equatable, Sendable {
    case flag
    case environment(String)
    case file(String)
    case defaultValue
    /// No source and no default: the option is off or derived (see its help).
    case unset
}

/// The `serve` options as typed on the command line, by long name, before
/// defaults, environment and file. One dictionary, so that a new option in
/// `ServeOption.all` needs no new field here.
struct ServeFlags: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    var values: [String: String]

    init(_ values: [String: String] = [:]) { self.values = values }
    init(dictionaryLiteral elements: (String, String)...) {
        values = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    /// Reads `--name VALUE` and `--name=VALUE` pairs of the options in
    /// `ServeOption.all`; a later flag wins over an earlier one, as before.
    /// The value is the next word whatever it looks like, so a secret or a
    /// number may begin with `-`.
    static func parse(_ arguments: [String]) throws(ServeFlagsError) -> ServeFlags {
        var flags = ServeFlags()
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            guard word.hasPrefix("--"), word.count > 2 else { throw .unexpected(word) }
            var name = String(word.dropFirst(2))
            var value: String?
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard ServeOption.named(name) != nil else {
                throw .unknown(flag: "--" + name, suggestion: ServeOption.nearest(to: name).map { "--" + $0 })
            }
            if value == nil {
                guard i + 1 < arguments.count else { throw .missingValue("--" + name) }
                i += 1
                value = arguments[i]
            }
            flags.values[name] = value
            i += 1
        }
        return flags
    }
}

/// Why `serve`'s command line cannot be read.
enum ServeFlagsError: Error, Equatable, CustomStringConvertible {
    case unknown(flag: String, suggestion: String?)
    case missingValue(String)
    case unexpected(String)

    var description: String {
        switch self {
        case .unknown(let flag, let suggestion):
            return "unknown option \(flag)" + (suggestion.map { "; did you mean \($0)?" } ?? "")
        case .missingValue(let flag): return "\(flag) needs a value"
        case .unexpected(let word): return "unexpected argument \"\(word)\": options are --name VALUE"
        }
    }
}

/// The three sources of `serve`'s options and the order they win in:
/// flag, then `COHORT_*` variable, then `--config` file, then the default.
/// Remembers what it handed out, for `--print-config`.
struct ServeInputs {
    var flags: ServeFlags
    var environment: [String: String]
    var file: ConfigFile?
    /// Each option asked for so far: its effective text (nil: unset) and source.
    private(set) var picked: [String: (text: String?, source: SettingSource)] = [:]

    init(flags: ServeFlags, environment: [String: String], file: ConfigFile? = nil) {
        self.flags = flags
        self.environment = environment
        self.file = file
    }

    /// The given value of option `name` and where it came from; nil when no
    /// source gives one. An empty variable counts as unset (shells leave
    /// `COHORT_X=` behind).
    func given(_ name: String) -> (text: String, source: SettingSource)? {
        if let flag = flags.values[name] { return (flag, .flag) }
        let variable = ServeOption.named(name)?.environmentVariable ?? name
        if let value = environment[variable], !value.isEmpty { return (value, .environment(variable)) }
        if let file, let value = file.values[name] { return (value, .file(file.path)) }
        return nil
    }

    /// The given value of `name`, or its table default; remembered.
    mutating func text(_ name: String) -> String? {
        if let (text, source) = given(name) {
            picked[name] = (text, source)
            return text
        }
        let fallback = ServeOption.named(name)?.defaultValue
        picked[name] = (fallback, fallback == nil ? .unset : .defaultValue)
        return fallback
    }

    /// Records the value a derived default took (the announce address from
    /// --media, the host name for --records-node), for `--print-config`.
    mutating func derived(_ name: String, _ value: String) {
        if picked[name]?.source == .unset { picked[name] = (value, .defaultValue) }
    }

    /// How to name option `name` in an error: `--name` when it came from
    /// the command line, the environment or the default (the wording the
    /// flag's help uses), `FILE: name` when the file gave it.
    func label(_ name: String) -> String {
        if case .file(let path)? = picked[name]?.source { return "\(path): \(name)" }
        return "--" + name
    }
}
