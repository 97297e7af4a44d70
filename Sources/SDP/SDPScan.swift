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

    // The helpers below work on UTF-8 bytes, not Characters: SDP is defined
    // over bytes (RFC 8866 §9), and a combining mark after a separator must
    // not glue two fields into one grapheme cluster.

    /// Splits at every `separator` byte.
    static func split(_ text: Substring, _ separator: UInt8, omittingEmpty: Bool = false,
                      maxSplits: Int = .max) -> [Substring] {
        text.utf8.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: omittingEmpty)
            .map { Substring($0) }
    }

    /// Space-separated fields, tolerating runs of spaces.
    static func fields(_ text: Substring) -> [Substring] { split(text, space, omittingEmpty: true) }

    /// Splits at the first space: (head, rest without leading spaces). Rest is nil without a space.
    static func splitFirst(_ text: Substring) -> (Substring, Substring?) {
        let bytes = text.utf8
        guard let space = bytes.firstIndex(of: space) else { return (text, nil) }
        var start = bytes.index(after: space)
        while start < bytes.endIndex, bytes[start] == Self.space { start = bytes.index(after: start) }
        return (Substring(bytes[..<space]), Substring(bytes[start...]))
    }

    /// Splits at the first `separator` byte: (before, after), or nil without one.
    static func splitAt(_ text: Substring, _ separator: UInt8) -> (Substring, Substring)? {
        let bytes = text.utf8
        guard let index = bytes.firstIndex(of: separator) else { return nil }
        return (Substring(bytes[..<index]), Substring(bytes[bytes.index(after: index)...]))
    }

    /// Removes leading and trailing spaces and tabs.
    static func trimmed(_ text: Substring) -> Substring {
        let bytes = text.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return Substring(bytes[start..<end])
    }

    /// Whether `text` starts with the ASCII `prefix`, byte for byte.
    static func hasPrefix(_ text: Substring, _ prefix: String) -> Bool { text.utf8.starts(with: prefix.utf8) }

    /// `text` without its first `count` bytes (which must be ASCII).
    static func dropBytes(_ text: Substring, _ count: Int) -> Substring {
        Substring(text.utf8.dropFirst(count))
    }

    static let space = UInt8(ascii: " ")

    private static func isBlank(_ c: UInt8) -> Bool { c == space || c == UInt8(ascii: "\t") }

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
