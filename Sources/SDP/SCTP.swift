/// `a=sctpmap:<port> <app> [<streams>]` from draft-ietf-mmusic-sctp-sdp-05, which
/// older stacks still write for data channels instead of RFC 8841's `a=sctp-port`.
public struct SCTPMap: SDPAttributeValue {
    /// `sctpmap`.
    public static let attributeName = "sctpmap"

    /// The SCTP port.
    public var port: UInt16
    /// The application, `webrtc-datachannel`.
    public var application: String
    /// The number of streams, if given.
    public var streams: UInt32?

    /// Creates an sctpmap.
    public init(port: UInt16, application: String = "webrtc-datachannel", streams: UInt32? = nil) {
        self.port = port
        self.application = application
        self.streams = streams
    }

    /// Parses the text after `a=sctpmap:`.
    public init(attributeValue: Substring) throws(SDPError.Reason) {
        let f = SDPScan.fields(attributeValue)
        guard f.count == 2 || f.count == 3, SDPScan.isToken(f[1]) else { throw .badSCTP }
        self.init(port: try SDPScan.number(f[0], "sctpmap port"), application: String(f[1]),
                  streams: f.count == 3 ? try SDPScan.number(f[2], "sctpmap streams") : nil)
    }

    /// The text after `a=sctpmap:`.
    public var attributeValue: String {
        streams.map { "\(port) \(application) \($0)" } ?? "\(port) \(application)"
    }
}
