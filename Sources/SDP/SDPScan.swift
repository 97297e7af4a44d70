/// Small lexical helpers shared by the attribute parsers.
enum SDPScan {
    /// Parses a plain decimal number: digits only, no sign, no spaces.
    static func number<T: FixedWidthInteger & UnsignedInteger>(
        _ text: Substring, _ field: String, as: T.Type = T.self
    ) throws(SDPError.Reason) -> T {
        guard !text.isEmpty, text.utf8.allSatisfy(isDigit) else { throw .nonNumeric(field: field) }
        // 20 digits hold any UInt64; a longer run is absurd, not a number we accept.
        guard text.utf8.count <= 20, let wide = UInt64(text), let value = T(exactly: wide) else {
            throw .valueOutOfRange(field: field)
        }
        return value
    }

    /// Parses a decimal number and checks it lies in `range`.
    static func number<T: FixedWidthInteger & UnsignedInteger>(
        _ text: Substring, _ field: String, in range: ClosedRange<T>
    ) throws(SDPError.Reason) -> T {
        let value: T = try number(text, field)
        guard range.contains(value) else { throw .valueOutOfRange(field: field) }
        return value
    }

    /// An RTP payload type, 0–127 (RFC 3550 §5.1: seven bits).
    static func payloadType(_ text: Substring, _ field: String) throws(SDPError.Reason) -> UInt8 {
        try number(text, field, in: 0...127)
    }

    /// Space-separated fields, tolerating runs of spaces.
    static func fields(_ text: Substring) -> [Substring] {
        text.split(separator: " ", omittingEmptySubsequences: true)
    }

    /// Splits at the first space: (head, rest without leading spaces). Rest is nil without a space.
    static func splitFirst(_ text: Substring) -> (Substring, Substring?) {
        guard let space = text.firstIndex(of: " ") else { return (text, nil) }
        let rest = text[text.index(after: space)...].drop(while: { $0 == " " })
        return (text[..<space], rest)
    }

    /// Removes leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        var start = text.startIndex
        var end = text.endIndex
        while start < end, text[start] == " " || text[start] == "\t" { start = text.index(after: start) }
        while end > start {
            let before = text.index(before: end)
            guard text[before] == " " || text[before] == "\t" else { break }
            end = before
        }
        return text[start..<end]
    }

    /// RFC 8866 §9 `token`: visible ASCII except a few separators.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { c in
            switch c {
            case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x41...0x5A, 0x5E...0x7E: true
            default: false
            }
        }
    }

    /// Non-empty and free of spaces and control characters (a lenient "word").
    static func isWord(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    /// RFC 8839 §5.1 `ice-char`: ALPHA / DIGIT / "+" / "/".
    static func isICEChars(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { isAlphaNumeric($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") }
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    static func isAlphaNumeric(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}
