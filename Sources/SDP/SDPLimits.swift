/// Bounds on what the parser accepts, so that a peer cannot make the server
/// spend unbounded memory or time on one description.
///
/// The defaults leave room for Cohort's clients: a Chromium offer with one
/// send audio, one send video and 4+4 receive slots is about 31 KB and 960
/// lines (Tests/SDPTests/Fixtures/chromium-cohort-client.sdp), so a client
/// with 64 sections of that kind still fits.
public struct SDPLimits: Equatable, Sendable {
    /// Largest accepted input, in bytes.
    public var maxBytes: Int
    /// Most lines accepted, counting every line of the input.
    public var maxLines: Int
    /// Longest accepted line, in bytes, without its line ending.
    public var maxLineLength: Int
    /// Most `m=` sections accepted.
    public var maxMediaSections: Int

    /// Creates limits; the defaults are 256 KiB, 8192 lines, 4 KiB per line, 64 sections.
    public init(maxBytes: Int = 256 * 1024, maxLines: Int = 8192,
                maxLineLength: Int = 4096, maxMediaSections: Int = 64) {
        self.maxBytes = maxBytes
        self.maxLines = maxLines
        self.maxLineLength = maxLineLength
        self.maxMediaSections = maxMediaSections
    }

    /// The default limits.
    public static let `default` = SDPLimits()
}
