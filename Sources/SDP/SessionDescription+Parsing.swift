extension SessionDescription {
    /// Parses UTF-8 bytes; rejects invalid UTF-8 rather than guessing.
    public static func parse(bytes: [UInt8], limits: SDPLimits = .default) throws(SDPError) -> SessionDescription {
        guard bytes.count <= limits.maxBytes else {
            throw SDPError(line: 0, reason: .inputTooLarge(limit: limits.maxBytes))
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SDPError(line: 0, reason: .invalidUTF8)
        }
        return try parse(text, limits: limits)
    }

    /// Parses a description. Lines may end in CRLF or LF (RFC 8866 §5 asks
    /// parsers to accept a bare LF). Every line this module understands is
    /// checked; every other line is kept as written.
    public static func parse(_ text: String, limits: SDPLimits = .default) throws(SDPError) -> SessionDescription {
        let bytes = Array(text.utf8)
        guard bytes.count <= limits.maxBytes else {
            throw SDPError(line: 0, reason: .inputTooLarge(limit: limits.maxBytes))
        }
        var rawLines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // A final line ending (and blank lines after it) end the text; they are not lines.
        while let last = rawLines.last, last.isEmpty || last == [UInt8(ascii: "\r")] { rawLines.removeLast() }
        guard rawLines.count <= limits.maxLines else {
            throw SDPError(line: 0, reason: .tooManyLines(limit: limits.maxLines))
        }
        guard !rawLines.isEmpty else { throw SDPError(line: 0, reason: .missingLine("v")) }

        var parser = Parser(limits: limits)
        for (index, raw) in rawLines.enumerated() {
            do throws(SDPError.Reason) {
                try parser.take(raw, isFirst: index == 0)
            } catch {
                throw SDPError(line: index + 1, reason: error)
            }
        }
        return try parser.finish()
    }
}

/// The line-by-line state of one parse.
private struct Parser {
    let limits: SDPLimits
    var session: [SDPLine] = []
    var sections: [MediaDescription] = []
    var mids: Set<String> = []

    init(limits: SDPLimits) { self.limits = limits }

    mutating func take(_ raw: ArraySlice<UInt8>, isFirst: Bool) throws(SDPError.Reason) {
        var line = raw
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.count <= limits.maxLineLength else { throw .lineTooLong(limit: limits.maxLineLength) }
        // RFC 8866 §5: text fields may not hold NUL, CR or LF.
        guard !line.contains(0), !line.contains(UInt8(ascii: "\r")) else { throw .invalidCharacter }
        // <type>=<value>, type one lower-case letter (RFC 8866 §5).
        guard line.count >= 2, let type = line.first, (0x61...0x7A).contains(type),
              line[line.startIndex + 1] == UInt8(ascii: "=") else {
            throw isFirst ? .missingLine("v") : .malformedLine
        }
        let letter = Character(Unicode.Scalar(type))
        let value = String(decoding: line.dropFirst(2), as: UTF8.self)

        if isFirst {
            guard letter == "v" else { throw .missingLine("v") }
            guard value == "0" else { throw .unsupportedVersion }
            return
        }
        switch letter {
        case "v":
            throw .unexpectedLine("v")
        case "m":
            guard sections.count < limits.maxMediaSections else {
                throw .tooManyMediaSections(limit: limits.maxMediaSections)
            }
            sections.append(MediaDescription(media: try MediaLine(fieldValue: value[...])))
        case "a":
            let attribute = try Self.attribute(value)
            try attribute.validate()
            if attribute.name == "mid", !sections.isEmpty, let mid = attribute.value {
                guard mids.insert(mid).inserted else { throw .duplicateMID(mid) }
            }
            append(.attribute(attribute))
        default:
            try Self.validateField(letter, value)
            append(.field(type: letter, value: value))
        }
    }

    private mutating func append(_ line: SDPLine) {
        if sections.isEmpty { session.append(line) } else { sections[sections.count - 1].lines.append(line) }
    }

    /// Splits `name[:value]` at the first colon (RFC 8866 §5.13).
    private static func attribute(_ text: String) throws(SDPError.Reason) -> SDPAttribute {
        guard let (name, value) = SDPScan.splitAt(text[...], UInt8(ascii: ":")) else {
            guard !text.isEmpty else { throw .malformedLine }
            return SDPAttribute(name: text)
        }
        guard !name.isEmpty else { throw .malformedLine }
        return SDPAttribute(name: String(name), value: String(value))
    }

    private static func validateField(_ type: Character, _ value: String) throws(SDPError.Reason) {
        switch type {
        case "o": _ = try Origin(fieldValue: value[...])
        case "t": _ = try Timing(fieldValue: value[...])
        case "c": _ = try ConnectionData(fieldValue: value[...])
        default: return
        }
    }

    func finish() throws(SDPError) -> SessionDescription {
        // RFC 8866 §5: o=, s= and t= are mandatory in the session part.
        for type: Character in ["o", "s", "t"] where !session.contains(where: { $0.fieldValue(type) != nil }) {
            throw SDPError(line: 0, reason: .missingLine(type))
        }
        return SessionDescription(lines: session, mediaSections: sections)
    }
}
