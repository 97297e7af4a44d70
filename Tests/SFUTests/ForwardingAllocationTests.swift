import CohortClient
import CohortMallocCounter
import RTP
@testable import SFU
import SRTP
import STUN
import Wire
import XCTest

/// Steady-state forwarding allocates nothing of its own (STYLE.md, "Store
/// once, send by index").
///
/// Debian's libsrtp2 runs on NSS, which allocates on every packet, so the
/// count of the thread's allocations (CohortMallocCounter) while the engine
/// forwards N packets to three subscribers is compared with the same SRTP
/// work done directly: one unprotect and three protects per packet on
/// `SRTPContext`s, whose own share SRTPAllocationTests shows is zero.
final class ForwardingAllocationTests: XCTestCase {
    static let packets = 1_000
    static let subscribers = 3

    func testForwardingAllocatesNoMoreThanSRTPItself() throws {
        let setup = try Setup(video: false)
        try assertNoAllocationsOfItsOwn(setup, "audio")

        // The check can fail: a queue made per packet (one allocation each) is seen.
        let wasteful = setup.forward(round: 3, freshQueuePerPacket: true)
        let directAgain = try setup.srtpAlone()
        XCTAssertGreaterThan(wasteful, directAgain + Self.packets / 20)
    }

    /// Video with NACK and RTX negotiated: each packet is also stored in the
    /// publisher's packet cache and checked for gaps, still without an
    /// allocation of its own once the cache's slots have been used once.
    func testVideoForwardingWithLossRepairAllocatesNoMoreThanSRTPItself() throws {
        try assertNoAllocationsOfItsOwn(try Setup(video: true), "video")
    }

    /// Simulcast video with 15-bit picture ids and TL0PICIDX: each copy also
    /// passes its slot's layer check and has its VP8 descriptor rewritten,
    /// still without an allocation.
    func testSimulcastForwardingWithPictureIDRewriteAllocatesNoMoreThanSRTPItself() throws {
        let setup = try Setup(video: true, simulcast: true)
        try assertNoAllocationsOfItsOwn(setup, "simulcast video")
    }

    /// Subscribers that negotiated transport-cc: each copy is also stamped
    /// with the subscriber's transport-wide number (an extension element
    /// added) and noted in its send history, still without an allocation.
    func testForwardingWithTransportWideStampsAllocatesNoMoreThanSRTPItself() throws {
        let setup = try Setup(video: false, transportWide: true)
        try assertNoAllocationsOfItsOwn(setup, "audio stamped")
        XCTAssertGreaterThanOrEqual(setup.h.engine.counters.transportWideStamped, 3 * Self.packets * Self.subscribers)
    }

    /// Video to subscribers whose pacers hold most of it (`Pacer`: each
    /// packet costs a little more of the budget than the time until the
    /// next): copies are written into the pacers' rings, then numbered,
    /// encrypted and queued as they are released, still without an
    /// allocation once the rings exist.
    func testPacedVideoAllocatesNoMoreThanSRTPItself() throws {
        let setup = try Setup(video: true, transportWide: true, paced: true)
        try assertNoAllocationsOfItsOwn(setup, "paced video")
        XCTAssertEqual(setup.h.engine.counters.pacedCopiesHeld, 3 * Self.packets * Self.subscribers, "every copy was held")
        XCTAssertEqual(setup.h.engine.counters.pacedCopiesDropped, 0)
    }

    /// Audio in a room with a mixer (one listener hears the mix): each
    /// packet is forwarded to the two others and also enters the mixer's
    /// jitter buffer, borrowed from the receive buffer and copied into
    /// storage the buffer reuses, so still nothing of its own per packet.
    func testAudioIntoAMixedRoomAllocatesNoMoreThanSRTPItself() throws {
        let setup = try Setup(video: false, mixed: true)
        try assertNoAllocationsOfItsOwn(setup, "audio into a mixer")
        let buffered = setup.mixerBuffered
        XCTAssertGreaterThanOrEqual(buffered - setup.mixerBufferedBefore, 3 * Self.packets,
                                    "every packet reached the mixer's jitter buffer")
    }

    /// Three rounds of forwarding, each followed by the same SRTP work alone
    /// (alternating, so both see NSS's free lists in the same state); the
    /// last round of each is compared.
    private func assertNoAllocationsOfItsOwn(_ setup: Setup, _ kind: String, line: UInt = #line) throws {
        var engine = 0, direct = 0
        for round in 0..<3 {
            engine = setup.forward(round: round, freshQueuePerPacket: false)
            direct = try setup.srtpAlone()
        }
        XCTAssertEqual(setup.forwarded, 3 * Self.packets * setup.subscribers, "every packet reached every forwarded subscriber",
                       line: line)
        XCTAssertLessThanOrEqual(engine, direct + Self.packets / 20,
                                 "\(engine) allocations forwarding \(kind) vs \(direct) for SRTP alone", line: line)
    }
}

/// Four participants with audio, connected; one of them sends prepared SRTP.
/// With `mixed`, the last of them hears its room mixed (so the room has a
/// mixer, fed by the sender) and the sender is forwarded to the two others.
private final class Setup {
    let h: EngineHarness
    let sender: StunAddress
    /// Per round, SRTP datagrams from the sender (each round continues the sequence).
    let rounds: [[[UInt8]]]
    var transmits = TransmitQueue(reservingDatagrams: 64)
    var forwarded: Int { h.engine.counters.rtpForwarded - forwardedBefore }
    private var forwardedBefore = 0
    /// Subscribers each packet is forwarded to.
    let subscribers: Int
    /// Packets offered to the mixers' jitter buffers (now, and when the rounds began).
    var mixerBuffered: Int { h.engine.mixerCounters.reduce(0) { $0 + $1.buffers.received } }
    private(set) var mixerBufferedBefore = 0

    // The direct reference: one inbound and three outbound contexts, the profile Cohort prefers.
    let inbound: SRTPContext, peer: SRTPContext
    let outbound: [SRTPContext]
    var plainReference: [[UInt8]] = []
    var buffer: [UInt8] = []

    /// Audio only, or (`video`) video only with NACK and RTX negotiated;
    /// with `transportWide` everyone negotiates transport-cc; with `mixed`
    /// one listener hears the room's mix.
    /// With `paced`, each subscriber's pacer runs at `pacingRate`, its
    /// budget spent when a round begins, and the packets come 1 ms apart,
    /// each copy (136 bytes) a little over 1 ms of the rate: every copy is
    /// held, and about 45 wait at the end of a round, then are released.
    let paced: Bool
    static let pacingRate = 1_050_000

    init(video: Bool, mixed: Bool = false, transportWide: Bool = false, simulcast: Bool = false, paced: Bool = false) throws {
        let h = EngineHarness()
        let names = ["ann", "bob", "cy", "dee"]
        for name in names {
            try h.join(name, audio: !video, video: video, mixed: mixed && name == "dee", lossRepair: video,
                       transportWide: transportWide, simulcast: simulcast && name == "ann" ? ["q", "h", "f"] : [])
        }
        subscribers = mixed ? 2 : ForwardingAllocationTests.subscribers
        var ts: UInt32 = 0
        for i in 0..<10 {
            for name in names { h.sendMedia(name, audioTimestamp: ts, keyframe: i == 0) }
            ts &+= 960
            h.run(for: .milliseconds(20))
        }
        let ann = h.clients["ann"]!
        _ = ann.client.poll()
        var rounds: [[[UInt8]]] = []
        for _ in 0..<4 {
            for _ in 0..<ForwardingAllocationTests.packets {
                if simulcast {
                    // The top layer (`offer.videoSSRC`), its descriptor with a 15-bit picture id and TL0PICIDX.
                    let picture = UInt16(truncatingIfNeeded: ts / 960) & 0x7FFF
                    ann.client.sendRTP(ssrc: ann.client.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType,
                                       timestamp: ts, marker: true,
                                       payload: [0x90, 0xC0, 0x80 | UInt8(picture >> 8), UInt8(picture & 0xFF),
                                                 UInt8(truncatingIfNeeded: picture), 0x01] + [UInt8](repeating: 0x5A, count: 94))
                } else if video {
                    ann.client.sendRTP(ssrc: ann.client.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType,
                                       timestamp: ts, marker: true, payload: [0x10, 0x01] + [UInt8](repeating: 0x5A, count: 98))
                } else {
                    ann.client.sendRTP(ssrc: ann.client.offer.audioSSRC!, payloadType: ClientOffer.opusPayloadType,
                                       timestamp: ts,
                                       extensions: [.audioLevel(id: ClientOffer.audioLevelID, RTPAudioLevel(voiceActivity: true, level: 30))],
                                       // A well-formed Opus packet (RFC 6716 §3.1: code 0, one 20 ms frame),
                                       // so a mixer keeps it.
                                       payload: [0x78] + [UInt8](repeating: 0x5A, count: 99))
                }
                ts &+= 960
            }
            rounds.append(ann.client.poll().datagrams)
        }
        self.h = h
        self.paced = paced
        if paced {
            for name in names.dropFirst() {
                let p = h.engine.participant(h.participantIDs[name]!)!
                p.subscriber.pacer.rate = Self.pacingRate
                pacedSubscribers.append(p)
            }
        }
        self.sender = ann.address
        self.rounds = rounds
        forwardedBefore = h.engine.counters.rtpForwarded
        mixerBufferedBefore = h.engine.mixerCounters.reduce(0) { $0 + $1.buffers.received }

        let profile = SRTPProtectionProfile.aeadAes256Gcm
        func material(_ seed: UInt8) -> SRTPKeyingMaterial {
            let length = 2 * (profile.keyLength + profile.saltLength)
            return SRTPKeyingMaterial(profile: profile, exported: (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) })!
        }
        inbound = try SRTPContext(keyingMaterial: material(1), role: .dtlsServer)
        peer = try SRTPContext(keyingMaterial: material(1), role: .dtlsClient)
        outbound = try (2...(1 + subscribers)).map { try SRTPContext(keyingMaterial: material(UInt8($0)), role: .dtlsServer) }
        buffer.reserveCapacity(2_048)
        var sequence: UInt16 = 0
        for _ in 0..<(4 * ForwardingAllocationTests.packets) {
            var p = try RTPPacketBuilder(payloadType: 111, sequenceNumber: sequence, timestamp: 0, ssrc: 0x1234,
                                         extensions: [.init(id: 1, data: [0x9E])])
                .build(payload: [UInt8](repeating: 0x5A, count: 100))
            try peer.protectRTP(&p)
            plainReference.append(p)
            sequence &+= 1
        }
    }

    private var pacedSubscribers: [Participant] = []

    /// The shell's receive array, lent to the engine for each datagram (MediaLoop).
    private var lent: [UInt8] = { var a = [UInt8](); a.reserveCapacity(2_048); return a }()

    /// Allocations while the engine takes round `round`'s packets, lent as
    /// the media socket lends them (decrypted in place), draining the queue as the shell would.
    func forward(round: Int, freshQueuePerPacket: Bool) -> Int {
        var now = h.clock.now + .seconds(Int64(2 * round))
        let datagrams = rounds[round]
        for p in pacedSubscribers { p.subscriber.pacer.noteSent(Self.pacingRate * 30 / 8_000, now: now) }
        cohort_malloc_counter_start()
        // By index: iterating an array of arrays allocates in unoptimised builds.
        for i in datagrams.indices {
            if freshQueuePerPacket { transmits = TransmitQueue() }
            lent.removeAll(keepingCapacity: true)
            lent.append(contentsOf: datagrams[i])
            h.engine.receive(lending: &lent, from: sender, now: now, transmits: &transmits)
            if paced {
                for p in 0..<pacedSubscribers.count { h.engine.releasePaced(pacedSubscribers[p], now: now, transmits: &transmits) }
                now = now + .milliseconds(1)
            }
            if transmits.count > 48 { transmits.removeAll() }
        }
        // What the pacers still hold leaves at their rate, over the next 200 ms.
        for step in 1...40 where paced {
            for p in 0..<pacedSubscribers.count {
                h.engine.releasePaced(pacedSubscribers[p], now: now + .milliseconds(Int64(5 * step)), transmits: &transmits)
            }
            transmits.removeAll()
        }
        let count = cohort_malloc_counter_stop()
        transmits.removeAll()
        return count
    }

    private var referenceNext = 0

    /// Allocations for the same SRTP work without the engine.
    func srtpAlone() throws -> Int {
        let start = referenceNext
        referenceNext += ForwardingAllocationTests.packets
        cohort_malloc_counter_start()
        for i in start..<referenceNext {
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: plainReference[i])
            try inbound.unprotectRTP(&buffer)
            let plain = buffer.count
            for context in outbound {
                buffer.removeLast(buffer.count - plain)
                try context.protectRTP(&buffer)
            }
        }
        return cohort_malloc_counter_stop()
    }
}
