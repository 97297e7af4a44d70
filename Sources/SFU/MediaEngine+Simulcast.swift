import RTP
import Wire

extension MediaEngine {
    /// Which of `p`'s streams a packet belongs to, and which layer of it:
    /// by a known SSRC; else an unknown SSRC is learned, by payload type
    /// for a single-encoding stream (the camera before the screen share,
    /// as the offer's order has them), by its RtpStreamId extension for a
    /// simulcast layer (RFC 8852 §3; Chrome sends it on each SSRC's first
    /// packets). A retransmission (RFC 4588) is unwrapped in place into the
    /// original it repairs; its layer is its RTX SSRC's, learned the same
    /// way from RepairedRtpStreamId. Each packet that cannot be placed is
    /// counted by why and dropped (nil). Allocation-free: no key paths or
    /// closures here.
    func identifyStream(of p: Participant, packet: inout [UInt8], header: inout RTPHeader) -> (TrackKind, Int)? {
        let ssrc = header.ssrc
        let payloadType = header.payloadType
        if p.audio?.layers[0].ssrc == ssrc { return (.audio, 0) }
        if let layer = p.video?.layer(ssrc: ssrc) { return (.video, layer) }
        if p.screen?.layers[0].ssrc == ssrc { return (.screen, 0) }
        if let audio = p.audio, audio.layers[0].ssrc == nil, payloadType == audio.payloadType {
            p.audio?.layers[0].ssrc = ssrc
            return (.audio, 0)
        }
        if let layer = p.video?.layer(rtxSSRC: ssrc) { return unwrapRetransmission(p, .video, layer, &packet, &header) }
        if p.screen?.layers[0].rtxSSRC == ssrc { return unwrapRetransmission(p, .screen, 0, &packet, &header) }
        // A new SSRC: a media layer by payload type (and rid), else an RTX one.
        if let video = p.video, payloadType == video.payloadType {
            switch learnLayer(of: video, ssrc: ssrc, ridID: p.plan.ridID, packet: packet, header: header, rtx: false) {
            case .layer(let layer):
                p.video?.layers[layer].ssrc = ssrc
                // Its keyframe requests and NACKs now count (`repairDeadline`).
                reschedule(p)
                return (.video, layer)
            case .refused: return nil
            case .taken: break
            }
        }
        if let screen = p.screen, screen.layers[0].ssrc == nil, payloadType == screen.payloadType {
            p.screen?.layers[0].ssrc = ssrc
            reschedule(p)
            return (.screen, 0)
        }
        if let video = p.video, let rtx = video.repair.rtxPayloadType, payloadType == rtx {
            switch learnLayer(of: video, ssrc: ssrc, ridID: p.plan.repairedRIDID, packet: packet, header: header, rtx: true) {
            case .layer(let layer):
                p.video?.layers[layer].rtxSSRC = ssrc
                return unwrapRetransmission(p, .video, layer, &packet, &header)
            case .refused: return nil
            case .taken: break
            }
        }
        if let screen = p.screen, let rtx = screen.repair.rtxPayloadType, payloadType == rtx, screen.layers[0].rtxSSRC == nil {
            p.screen?.layers[0].rtxSSRC = ssrc
            return unwrapRetransmission(p, .screen, 0, &packet, &header)
        }
        counters.unexpectedStream += 1
        return nil
    }

    /// RFC 4588: the publisher resent a packet we NACKed; restores the
    /// original of layer `layer` of the `kind` stream in place.
    private func unwrapRetransmission(_ p: Participant, _ kind: TrackKind, _ layer: Int,
                                      _ packet: inout [UInt8], _ header: inout RTPHeader) -> (TrackKind, Int)? {
        let stream = kind == .screen ? p.screen : p.video
        guard let stream, let primary = stream.layers[layer].ssrc,
              RTXPacket.unwrap(&packet, header: header, primarySSRC: primary, primaryPayloadType: stream.payloadType) != nil
        else { counters.rtxPaddingDropped += 1; return nil }
        guard let original = try? RTPHeader(parsing: packet) else { counters.malformedMedia += 1; return nil }
        header = original
        counters.rtxReceived += 1
        return (kind, layer)
    }

    private enum LearnedLayer { case layer(Int), taken, refused }

    /// The layer a packet with an unknown SSRC starts: the only one while its
    /// SSRC (or RTX SSRC, with `rtx`) is unknown, else `taken` (a screen
    /// share may claim it); a simulcast layer named by the extension `ridID`
    /// (RtpStreamId for media, RepairedRtpStreamId for RTX), or `refused`,
    /// counted by why.
    private func learnLayer(of video: PublishedStream, ssrc: UInt32, ridID: UInt8?, packet: [UInt8], header: RTPHeader,
                            rtx: Bool) -> LearnedLayer {
        guard video.isSimulcast else {
            let known = rtx ? video.layers[0].rtxSSRC : video.layers[0].ssrc
            return known == nil ? .layer(0) : .taken
        }
        // A SIM group names every layer's SSRC: another one is no layer.
        guard let ridID, !video.layers[0].rid.isEmpty else { return .taken }
        guard let range = header.extensionElement(id: ridID, in: packet), !range.isEmpty else {
            counters.simulcastMissingRID += 1
            return .refused
        }
        guard let layer = video.layer(rid: range, in: packet) else {
            counters.simulcastUnknownRID += 1
            return .refused
        }
        return .layer(layer)
    }
}
