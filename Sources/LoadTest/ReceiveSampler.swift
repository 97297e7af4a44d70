/// Which received SRTP packets a simulated receiver authenticates and
/// decrypts, so that the harness measures the server, not its own SRTP.
///
/// The RTP header is in clear text (RFC 3711 §3.1): sequence number, SSRC,
/// timestamps and the abs-send-time extension give loss, jitter and latency
/// for every packet without decryption. Only the payload names the sender
/// (the `MediaProbe`), so a sample of the packets is decrypted to check
/// origin and isolation: the first `burst` packets of every slot, again the
/// first `burst` after every change of the slot map (a source switch), and
/// one in `oneIn` of the rest of each slot's packets. A stream leaked into
/// the wrong room is caught within `oneIn` of its packets; a single stray
/// packet between two samples is not (decrypt everything, `oneIn` 1, when
/// that matters). Per receiver, on its loop.
public struct ReceiveSampler: Sendable {
    /// One in this many packets of a slot is decrypted (1: every packet).
    public let oneIn: Int
    /// Packets decrypted at the start of a slot and after each slot-map change.
    public let burst: Int
    /// Packets seen per slot (by SSRC) since its start or the last slot-map change.
    private var seen: [UInt32: Int] = [:]

    /// Creates a sampler; `oneIn` below 1 counts as 1.
    public init(oneIn: Int = 8, burst: Int = 4) {
        self.oneIn = max(1, oneIn)
        self.burst = max(0, burst)
    }

    /// Whether every packet is decrypted.
    public var decryptsAll: Bool { oneIn == 1 }

    /// Whether the packet that just arrived on slot `ssrc` is to be decrypted.
    public mutating func shouldDecrypt(ssrc: UInt32) -> Bool {
        guard oneIn > 1 else { return true }
        let n = seen[ssrc, default: 0]
        seen[ssrc] = n &+ 1
        return n < burst || (n - burst) % oneIn == 0
    }

    /// The slot map changed (a `slots` message): sources may have switched,
    /// so the next `burst` packets of every slot are decrypted.
    public mutating func slotsChanged() {
        for key in seen.keys { seen[key] = 0 }
    }
}
