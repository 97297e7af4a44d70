import Wire

/// Generic NACK (RFC 4585 §6.2.1): RTPFB, FMT 1. Asks the sender of
/// `mediaSSRC` to retransmit packets.
///
/// Each FCI entry is a PID (a lost sequence number) and a BLP bitmask whose
/// bit i (least significant first) reports PID + i + 1 as lost too.
public struct RTCPNack: Equatable, Sendable, RTCPPacketWritable {
    /// The feedback message type in the RTPFB header.
    public static let format: UInt8 = 1

    /// One FCI entry: a lost packet ID and the bitmask of the 16 following.
    public struct Item: Equatable, Sendable {
        /// PID: a lost sequence number.
        public var packetID: UInt16
        /// BLP: bit i set means `packetID + i + 1` is lost too.
        public var lostBitmask: UInt16

        /// Creates an entry.
        public init(packetID: UInt16, lostBitmask: UInt16) {
            self.packetID = packetID
            self.lostBitmask = lostBitmask
        }
    }

    /// SSRC of the packet sender (who asks).
    public var senderSSRC: UInt32
    /// SSRC of the media source asked to retransmit.
    public var mediaSSRC: UInt32
    /// The FCI entries, at least one on the wire.
    public var items: [Item]

    /// Creates a NACK from FCI entries.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, items: [Item]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.items = items
    }

    /// Creates a NACK for `lost`, packed into as few PID/BLP entries as the
    /// order allows: pass them in ascending serial order (wrap-around is fine,
    /// 65535 then 0), as a loss detector finds them. Each sequence number
    /// ends up in some entry whatever the order; repeats of the current
    /// entry's PID are dropped.
    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lostSequenceNumbers lost: some Sequence<UInt16>) {
        var items: [Item] = []
        for seq in lost {
            if let last = items.last {
                let distance = seq &- last.packetID
                if distance == 0 { continue }
                if distance <= 16 {
                    items[items.count - 1].lostBitmask |= 1 << (distance - 1)
                    continue
                }
            }
            items.append(Item(packetID: seq, lostBitmask: 0))
        }
        self.init(senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, items: items)
    }

    /// Every sequence number these entries report lost, entry by entry, in
    /// ascending serial order within each entry.
    public var lostSequenceNumbers: [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(items.count)
        for item in items {
            out.append(item.packetID)
            var mask = item.lostBitmask
            var bit: UInt16 = 1
            while mask != 0 {
                if mask & 1 != 0 { out.append(item.packetID &+ bit) }
                mask >>= 1
                bit += 1
            }
        }
        return out
    }

    init(_ view: RTCPPacketView) throws(RTPError) {
        // RFC 4585 §6.2.1: at least one FCI entry.
        try view.require(12)
        senderSSRC = view.word(0)
        mediaSSRC = view.word(4)
        items = (0..<((view.body.count - 8) / 4)).map {
            let word = view.word(8 + 4 * $0)
            return Item(packetID: UInt16(word >> 16), lostBitmask: UInt16(truncatingIfNeeded: word))
        }
    }

    /// Appends the NACK. It must hold at least one entry (RFC 4585 §6.2.1).
    public func write(to buffer: inout [UInt8]) {
        precondition(!items.isEmpty, "a generic NACK carries at least one FCI entry")
        let start = RTCPWriter.begin(count: Self.format, packetType: RTCPPacketType.transportFeedback, into: &buffer)
        buffer.appendUInt32(senderSSRC)
        buffer.appendUInt32(mediaSSRC)
        for item in items {
            buffer.appendUInt16(item.packetID)
            buffer.appendUInt16(item.lostBitmask)
        }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
