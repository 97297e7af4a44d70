
/// `cohort serve --print-config`: the effective configuration as a YAML
/// `--config` file, every option in table order with where its value came
/// from, the secret and URL passwords redacted.
enum PrintConfig {
    static let redacted = "<redacted>"

    /// The YAML text for the options `inputs` resolved.
    static func yaml(_ inputs: ServeInputs) -> String {
        var lines = ["# cohort serve: effective configuration (a flag wins over COHORT_* variables, "
                     + "which win over --config, which wins over the default)"]
        if let file = inputs.file { lines.append("# --config \(file.path)") }
        for option in ServeOption.all {
            let (text, source) = inputs.picked[option.name] ?? (nil, .unset)
            guard let text else {
                lines.append("# \(option.name):   # not set")
                continue
            }
            let shown = option.isSecret ? redacted : redactingPasswords(text)
            lines.append("\(option.name): \(quoted(shown))   # \(describe(source))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func describe(_ source: SettingSource) -> String {
        switch source {
        case .flag: return "flag"
        case .environment(let variable): return "environment \(variable)"
        case .file(let path): return "file \(path)"
        case .defaultValue: return "default"
        case .unset: return "not set"
        }
    }

    /// `scheme://user:password@host` with the password replaced, wherever
    /// it stands in `text` (postgres:// records, and any later URL option).
    static func redactingPasswords(_ text: String) -> String {
        guard let scheme = text.range(of: "://"),
              let at = text[scheme.upperBound...].lastIndex(of: "@") else { return text }
        let userInfo = text[scheme.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[...colon]) + redacted + String(text[at...])
    }

    /// A YAML double-quoted scalar (YAML 1.2 §7.3.1): always a string, so
    /// `on`, `08` or `*` read back exactly as printed.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    /// `self` with leading zeros up to `width` characters.
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
