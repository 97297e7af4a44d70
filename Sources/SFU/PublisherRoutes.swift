/// One receive slot a publisher's packets go to, resolved from the routing
/// table to the subscriber itself, so the per-packet path looks nothing up
/// by id.
struct ForwardingTarget {
    /// The receiving participant.
    let subscriber: Participant
    /// Index into its slots of the packet's kind.
    let slot: Int
    /// The payload type the subscriber negotiated for that slot.
    let payloadType: UInt8
    /// Whether header-extension ids must be renumbered (RFC 8285 §4.2)
    /// because the two participants negotiated different ones.
    let remapsExtensions: Bool
}

/// A publisher's forwarding targets and mixer as of one routing generation.
///
/// Built on the session's loop, on the first packet after the session's
/// members, routing table or mixers changed (`Session.routingGeneration`), and read for
/// every packet until the next change: the table's isolation rule is checked
/// once per target here instead of once per packet.
struct PublisherRoutes {
    /// The routing generation this was built from.
    let generation: UInt64
    /// Audio targets.
    let audio: [ForwardingTarget]
    /// Video targets.
    let video: [ForwardingTarget]
    /// Screen-share targets: the screen slots of the sharer's room.
    let screen: [ForwardingTarget]
    /// Targets the table listed but the isolation rule forbids, by kind.
    /// Never nonzero unless the table has a bug; each packet that would have
    /// reached one counts as an isolation violation.
    let refused: Refusals
    /// The mix of the publisher's room, if it has one; the publisher feeds
    /// it while it is among the mix's contributors.
    let mix: RoomMix?

    /// The targets of `kind`.
    func targets(_ kind: TrackKind) -> [ForwardingTarget] {
        switch kind {
        case .audio: audio
        case .video: video
        case .screen: screen
        }
    }
}

extension MediaEngine {
    /// `p`'s routes, rebuilt when the routing generation has moved on.
    func routes(of p: Participant) -> PublisherRoutes? {
        let session = p.session
        if let r = p.routes, r.generation == session.routingGeneration { return r }
        let table = session.table
        guard table.members[p.id] != nil else {
            p.routes = nil
            return nil
        }
        var refused = Refusals()
        func resolve(_ kind: TrackKind) -> [ForwardingTarget] {
            var out: [ForwardingTarget] = []
            for target in table.targets(of: p.id, kind: kind) {
                guard let sub = session.participants[target.subscriber] else { continue }
                // Defence in depth for the isolation rule: the table only
                // lists same-room targets; a violation here would be a bug.
                guard table.mayReceive(sub.id, from: p.id, kind: kind) else {
                    refused[kind] += 1
                    continue
                }
                let slots = sub.subscriber[kind]
                guard target.slot < slots.count else { continue }
                out.append(ForwardingTarget(subscriber: sub, slot: target.slot, payloadType: slots[target.slot].payloadType,
                                            remapsExtensions: p.localExtensionIDs != sub.localExtensionIDs))
            }
            return out
        }
        let audio = resolve(.audio), video = resolve(.video), screen = resolve(.screen)
        let mix = table.members[p.id].flatMap { session.mixes[$0.room] }
        let r = PublisherRoutes(generation: session.routingGeneration, audio: audio, video: video, screen: screen,
                                refused: refused, mix: mix)
        p.routes = r
        return r
    }
}

/// Targets refused by the isolation rule, per kind: three counters read on
/// every packet, so a plain struct rather than a dictionary.
struct Refusals {
    private var counts = (audio: 0, video: 0, screen: 0)

    subscript(kind: TrackKind) -> Int {
        get {
            switch kind {
            case .audio: counts.audio
            case .video: counts.video
            case .screen: counts.screen
            }
        }
        set {
            switch kind {
            case .audio: counts.audio = newValue
            case .video: counts.video = newValue
            case .screen: counts.screen = newValue
            }
        }
    }
}
