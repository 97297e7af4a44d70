import DTLS

/// Writes the offer a Cohort client sends (ARCHITECTURE.md, "Subscriptions"):
/// its own microphone and camera as sendonly sections, then `slots` receive-only
/// audio and video sections, all in one BUNDLE group on one ICE transport.
public struct ClientOffer: Sendable {
    /// Our ICE username fragment.
    public var ufrag: String
    /// Our ICE password.
    public var password: String
    /// Our certificate's fingerprint.
    public var fingerprint: DTLSFingerprint
    /// SSRC of our audio, if we publish audio.
    public var audioSSRC: UInt32?
    /// SSRC of our video, if we publish video.
    public var videoSSRC: UInt32?
    /// Receive slots per kind.
    public var slots: Int
    /// SSRC of our screen share, when the offer has a screen send section
    /// (mid "s", `a=content:slides`).
    public var screenSSRC: UInt32?
    /// Whether the offer has the screen slot (mid "sv", `a=content:slides`).
    public var screenSlot = false
    /// Whether video offers generic NACK and RTX (RFC 4585, RFC 4588).
    public var lossRepair = false
    /// SSRC of our video retransmissions, when `lossRepair` and we publish video.
    public var videoRTXSSRC: UInt32?
    /// Whether every section offers transport-wide congestion control
    /// (the extension at `transportWideID` and `transport-cc` feedback).
    public var transportWide = false
    /// Simulcast layers of our video, lowest first (RFC 8853): offered as
    /// `a=rid` send lines and `a=simulcast:send`, with the RtpStreamId
    /// extension at `ridID` (and RepairedRtpStreamId at `repairedRIDID` with
    /// `lossRepair`); their SSRCs are not declared (as Chrome does), so the
    /// server learns them from the extension. Empty: one encoding.
    public var simulcast: [(rid: String, ssrc: UInt32)] = []

    /// Payload type of Opus in our offers.
    public static let opusPayloadType: UInt8 = 111
    /// Payload type of VP8 in our offers.
    public static let vp8PayloadType: UInt8 = 96
    /// Header-extension id of the RFC 6464 audio level.
    public static let audioLevelID: UInt8 = 1
    /// Header-extension id of abs-send-time (the load test's send time).
    public static let sendTimeID: UInt8 = 2
    /// Header-extension id of the transport-wide sequence number when `transportWide`.
    public static let transportWideID: UInt8 = 3
    /// Payload type of RTX for VP8 (apt=96) when `lossRepair`.
    public static let rtxPayloadType: UInt8 = 97
    /// Header-extension ids of RtpStreamId and RepairedRtpStreamId (RFC 8852) with `simulcast`.
    public static let ridID: UInt8 = 4
    public static let repairedRIDID: UInt8 = 5

    /// Creates an offer description.
    public init(ufrag: String, password: String, fingerprint: DTLSFingerprint,
                audioSSRC: UInt32?, videoSSRC: UInt32?, slots: Int) {
        self.ufrag = ufrag
        self.password = password
        self.fingerprint = fingerprint
        self.audioSSRC = audioSSRC
        self.videoSSRC = videoSSRC
        self.slots = slots
    }

    /// The mids in order: "a" and "v" for our own tracks, "a0"..., "v0"... for slots.
    public var mids: [String] {
        var m: [String] = []
        if audioSSRC != nil { m.append("a") }
        if videoSSRC != nil { m.append("v") }
        m += (0..<slots).map { "a\($0)" } + (0..<slots).map { "v\($0)" }
        if screenSSRC != nil { m.append("s") }
        if screenSlot { m.append("sv") }
        return m
    }

    /// The SDP text.
    public var sdp: String {
        var l = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
                 "a=group:BUNDLE " + mids.joined(separator: " "), "a=msid-semantic: WMS *"]
        func section(kind: String, mid: String, direction: String, ssrc: UInt32?, slides: Bool = false) {
            let pt = kind == "audio" ? Self.opusPayloadType : Self.vp8PayloadType
            let formats = kind == "video" && lossRepair ? "\(pt) \(Self.rtxPayloadType)" : "\(pt)"
            l += ["m=\(kind) 9 UDP/TLS/RTP/SAVPF \(formats)", "c=IN IP4 0.0.0.0", "a=mid:\(mid)",
                  "a=ice-ufrag:\(ufrag)", "a=ice-pwd:\(password)", "a=fingerprint:\(fingerprint.sdpValue)",
                  "a=setup:actpass", "a=\(direction)", "a=rtcp-mux", "a=rtcp-rsize"]
            if slides { l.append("a=content:slides") }
            if kind == "audio" {
                l += ["a=rtpmap:\(pt) opus/48000/2", "a=fmtp:\(pt) minptime=10;useinbandfec=1",
                      "a=extmap:\(Self.audioLevelID) urn:ietf:params:rtp-hdrext:ssrc-audio-level"]
            } else {
                l += ["a=rtpmap:\(pt) VP8/90000", "a=rtcp-fb:\(pt) nack pli", "a=rtcp-fb:\(pt) ccm fir"]
                if lossRepair {
                    l += ["a=rtcp-fb:\(pt) nack", "a=rtpmap:\(Self.rtxPayloadType) rtx/90000",
                          "a=fmtp:\(Self.rtxPayloadType) apt=\(pt)"]
                }
            }
            l.append("a=extmap:\(Self.sendTimeID) http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
            if transportWide {
                l += ["a=rtcp-fb:\(pt) transport-cc",
                      "a=extmap:\(Self.transportWideID) http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"]
            }
            if kind == "video" && direction == "sendonly" && !simulcast.isEmpty {
                l.append("a=extmap:\(Self.ridID) urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")
                if lossRepair { l.append("a=extmap:\(Self.repairedRIDID) urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id") }
                l += simulcast.map { "a=rid:\($0.rid) send" }
                l.append("a=simulcast:send " + simulcast.map(\.rid).joined(separator: ";"))
                l.append("a=msid:cohort-client \(mid)")
            } else if let ssrc {
                l += ["a=msid:cohort-client \(mid)", "a=ssrc:\(ssrc) cname:cohort-client"]
                if kind == "video", let rtx = videoRTXSSRC {
                    l += ["a=ssrc-group:FID \(ssrc) \(rtx)", "a=ssrc:\(rtx) cname:cohort-client"]
                }
            }
        }
        if let a = audioSSRC { section(kind: "audio", mid: "a", direction: "sendonly", ssrc: a) }
        if let v = videoSSRC { section(kind: "video", mid: "v", direction: "sendonly", ssrc: v) }
        for i in 0..<slots { section(kind: "audio", mid: "a\(i)", direction: "recvonly", ssrc: nil) }
        for i in 0..<slots { section(kind: "video", mid: "v\(i)", direction: "recvonly", ssrc: nil) }
        if let s = screenSSRC { section(kind: "video", mid: "s", direction: "sendonly", ssrc: s, slides: true) }
        if screenSlot { section(kind: "video", mid: "sv", direction: "recvonly", ssrc: nil, slides: true) }
        return l.joined(separator: "\r\n") + "\r\n"
    }
}
