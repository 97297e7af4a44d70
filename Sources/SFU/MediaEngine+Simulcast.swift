import RTP
import Wire

extension MediaEngine {
    /// Which of `p`'s streams a packet belongs to, and which layer of it:
    /// by a known SSRC; else an unknown SSRC is learned, by payload type
    /// for a single-encoding stream, by its RtpStreamId extension for a
    /// simulcast layer (RFC 8852 §3; Chrome sends it on each SSRC's first
    /// packets). A retransmission (RFC 4588) is unwrapped in place into the
    /// original it repairs; its layer is its RTX SSRC's, learned the same
    /// way from RepairedRtpStreamId. Each packet that cannot be placed is
    /// counted by why and dropped (nil).
    func identifyStream(of p: Participant, packet: inout [UInt8], header: inout RTPHeader) -> (TrackKind, Int)? {
        let ssrc = header.ssrc
        let payloadType = header.payloadType
        if p.audio?.layers[0].ssrc == ssrc { return (.audio, 0) }
        if let layer = p.video?.layer(ssrc: ssrc) { return (.video, layer) }
        if let audio = p.audio, audio.layers[0].ssrc == nil, payloadType == audio.payloadType {
            p.audio?.layers[0].ssrc = ssrc
            return (.audio, 0)
        }
        guard let video = p.video else {
            counters.unexpectedStream += 1
            return nil
        }
        if payloadType == video.payloadType {
            guard let layer = learnLayer(of: video, ssrc: ssrc, ridID: p.plan.ridID, packet: packet, header: header)
            else { return nil }
            p.video?.layers[layer].ssrc = ssrc
            // Its keyframe requests and NACKs now count (`repairDeadline`).
            reschedule(p)
            return (.video, layer)
        }
        guard let rtxPayloadType = video.repair.rtxPayloadType, payloadType == rtxPayloadType else {
            counters.unexpectedStream += 1
            return nil
        }
        var layer = video.layer(rtxSSRC: ssrc)
        if layer == nil {
            layer = learnLayer(of: video, ssrc: ssrc, ridID: p.plan.repairedRIDID, packet: packet, header: header,
                               known: { $0.rtxSSRC })
            if let layer { p.video?.layers[layer].rtxSSRC = ssrc }
        }
        guard let layer else { return nil }
        // RFC 4588: the publisher resent a packet we NACKed; restore the original in place.
        guard let primary = video.layers[layer].ssrc,
              RTXPacket.unwrap(&packet, header: header, primarySSRC: primary, primaryPayloadType: video.payloadType) != nil
        else { counters.rtxPaddingDropped += 1; return nil }
        guard let original = try? RTPHeader(parsing: packet) else { counters.malformedMedia += 1; return nil }
        header = original
        counters.rtxReceived += 1
        return (.video, layer)
    }

    /// The layer a packet with an unknown SSRC starts: the only one while its
    /// SSRC is unknown; a simulcast layer named by the extension `ridID`
    /// (RtpStreamId for media, RepairedRtpStreamId for RTX). `known` reads
    /// the SSRC the layer already has of that sort.
    private func learnLayer(of video: PublishedStream, ssrc: UInt32, ridID: UInt8?, packet: [UInt8], header: RTPHeader,
                            known: (PublishedStream.Layer) -> UInt32? = { $0.ssrc }) -> Int? {
        guard video.isSimulcast else {
            if known(video.layers[0]) == nil { return 0 }
            counters.unexpectedStream += 1
            return nil
        }
        // A SIM group names every layer's SSRC: another one is no layer.
        guard let ridID, !video.layers[0].rid.isEmpty else {
            counters.unexpectedStream += 1
            return nil
        }
        guard let range = header.extensionElement(id: ridID, in: packet), !range.isEmpty else {
            counters.simulcastMissingRID += 1
            return nil
        }
        guard let layer = video.layer(rid: range, in: packet) else {
            counters.simulcastUnknownRID += 1
            return nil
        }
        return layer
    }
}
