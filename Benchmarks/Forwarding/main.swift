// CPU per forwarded video packet with loss repair (packet cache, gap
// tracking for upstream NACK) against the same engine with it off, in one
// run, alternating rounds so both see the same machine. Release only:
//   Scripts/bench-forward.sh
//
// One publisher sends VP8-shaped packets (1 100 bytes of payload) to three
// subscribers in one session; the engine decrypts each, (with loss repair)
// stores it in the cache and checks for gaps, rewrites and encrypts three
// copies. Time is this thread's CPU time. Also printed: the cache's memory
// per published video stream once its ring has filled.
//
// Then the metrics (issue 16): the same engine forwarding with a metrics
// scrape (engine snapshot, Prometheus update, text exposition, all on the
// forwarding thread) every `scrapeEvery` packets, against no scrape, in
// alternating rounds; and the cost of one scrape alone.
//
// Then transport-wide congestion control (issue 12): subscribers that
// negotiated transport-cc, so that every copy is stamped with the
// subscriber's own transport-wide number (here an extension element added
// to each copy: the publisher's packets carry none, the costlier case) and
// noted in its estimator's send history, against subscribers without it; and
// the estimator's cost per reported packet (feedback on 100 packets at a time).
import CohortClient
import CohortTestSupport
import Congestion
import RTP
import ControlPlane
import DTLS
import Foundation
import SFU
import STUN
import Telemetry
import Wire

func threadCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let packetsPerRound = 20_000
let rounds = 5
let certificate = try DTLSCertificate()

/// A connected session of one publisher and three subscribers on one engine.
final class Bench {
    let engine: MediaEngine
    var network = VirtualNetwork(conditions: .init(delay: .milliseconds(1)), seed: 1)
    let clock = ManualClock()
    let server = StunAddress("127.0.0.1:40000")!
    var clients: [(ClientParticipant, StunAddress)] = []
    var transmits = TransmitQueue(reservingDatagrams: 256)
    var prepared: [[[UInt8]]] = []
    var timestamp: UInt32 = 0

    init(lossRepair: Bool, transportWide: Bool = false) throws {
        var config = EngineConfiguration(certificate: certificate, candidateHost: "127.0.0.1", candidatePort: 40000, maxSlots: 4)
        config.lossRepair = lossRepair
        engine = MediaEngine(configuration: config)
        for i in 0..<4 {
            let c = ClientParticipant(publishAudio: false, publishVideo: i == 0, slots: 4, certificate: certificate,
                                      lossRepair: true, transportWide: transportWide)
            let a = StunAddress("127.0.0.1:\(5000 + i)")!
            let answer = try engine.join(JoinRequest(sessionID: "s", room: .main, name: "p\(i)", role: .participant,
                                                     offer: c.offer.sdp), now: clock.now)
            try c.accept(answer: answer.answer, now: clock.now)
            clients.append((c, a))
            var t = 0
            while !c.isConnected && t < 500 { step(); t += 1 }
        }
        for i in 0..<50 { send(keyframe: i == 0); step() }
        // Every round's packets are encrypted ahead of time (SRTP forbids replaying them).
        for _ in 0..<rounds {
            for _ in 0..<packetsPerRound { send(keyframe: false) }
            prepared.append(clients[0].0.poll().datagrams)
        }
    }

    func send(keyframe: Bool) {
        let c = clients[0].0
        c.sendRTP(ssrc: c.offer.videoSSRC!, payloadType: ClientOffer.vp8PayloadType, timestamp: timestamp, marker: true,
                  payload: [0x10, keyframe ? 0x00 : 0x01] + [UInt8](repeating: 0xA5, count: 1_100))
        timestamp &+= 3_000
    }

    func step() {
        clock.advance(to: clock.now + .milliseconds(1))
        for (c, a) in clients { for d in c.poll().datagrams { network.send(d, from: a.description, to: server.description, now: clock.now) } }
        for d in network.deliver(upTo: clock.now) {
            if d.to == server.description {
                engine.receive(d.bytes, from: StunAddress(d.from)!, now: clock.now, transmits: &transmits)
            } else if let c = clients.first(where: { $0.1.description == d.to }) {
                c.0.receive(d.bytes, now: clock.now)
            }
        }
        if let d = engine.nextDeadline, d <= clock.now { engine.handleTimeout(now: clock.now, transmits: &transmits) }
        for t in transmits { network.send(t.bytes, from: server.description, to: t.destination.description, now: clock.now) }
        transmits.removeAll()
        for (c, _) in clients { if let d = c.nextDeadline, d <= clock.now { c.handleTimeout(now: clock.now) } }
    }

    /// CPU seconds for round `r`, and the copies forwarded; `scrape` runs
    /// every `scrapeEvery` packets when given.
    func run(round r: Int, scrapeEvery: Int = 0, scrape: (MediaEngine) -> Void = { _ in }) -> (seconds: Double, forwarded: Int) {
        let before = engine.counters.rtpForwarded
        let from = clients[0].1
        let now = clock.now
        let datagrams = prepared[r]
        let start = threadCPUTime()
        for i in datagrams.indices {
            engine.receive(datagrams[i], from: from, now: now, transmits: &transmits)
            if transmits.count > 192 { transmits.removeAll() }
            if scrapeEvery > 0 && i % scrapeEvery == scrapeEvery - 1 { scrape(engine) }
        }
        let seconds = threadCPUTime() - start
        transmits.removeAll()
        return (seconds, engine.counters.rtpForwarded - before)
    }
}

let with = try Bench(lossRepair: true)
let without = try Bench(lossRepair: false)
var perPacket: [(with: Double, without: Double)] = []
for r in 0..<rounds {
    let a = with.run(round: r), b = without.run(round: r)
    guard a.forwarded == 3 * packetsPerRound, b.forwarded == 3 * packetsPerRound else {
        fatalError("forwarded \(a.forwarded) and \(b.forwarded) copies, expected \(3 * packetsPerRound); counters \(with.engine.counters)")
    }
    perPacket.append((a.seconds / Double(a.forwarded) * 1e6, b.seconds / Double(b.forwarded) * 1e6))
}
let ratios = perPacket.map { $0.with / $0.without }.sorted()
print("forwarded video, 3 subscribers, \(packetsPerRound) packets x \(rounds) rounds (release build)")
for (i, p) in perPacket.enumerated() {
    print(String(format: "round %d: %.3f µs per copy with loss repair, %.3f without, ratio %.3f", i, p.with, p.without, p.with / p.without))
}
print(String(format: "median ratio with/without loss repair: %.3f", ratios[ratios.count / 2]))

// MARK: Metrics overhead

/// One scrape as the server does it, here on the forwarding thread itself:
/// the engine's snapshot, the Prometheus handles updated, the text rendered.
let metrics = CohortMetrics(gather: { $0.makeSucceededFuture([]) }, joins: JoinOutcomes())
nonisolated(unsafe) var exposedBytes = 0
func scrape(_ engine: MediaEngine) {
    metrics.update([LoopSample(engine: engine.metricsSnapshot(), busyNanoseconds: 0)])
    exposedBytes = metrics.registry.emitToBuffer().count
}
let scrapeEvery = 1_000
let plain = try Bench(lossRepair: true)
let scraped = try Bench(lossRepair: true)
var metricsPerPacket: [(scraped: Double, plain: Double)] = []
for r in 0..<rounds {
    let a = scraped.run(round: r, scrapeEvery: scrapeEvery, scrape: scrape), b = plain.run(round: r)
    guard a.forwarded == 3 * packetsPerRound, b.forwarded == 3 * packetsPerRound else {
        fatalError("forwarded \(a.forwarded) and \(b.forwarded) copies, expected \(3 * packetsPerRound)")
    }
    metricsPerPacket.append((a.seconds / Double(a.forwarded) * 1e6, b.seconds / Double(b.forwarded) * 1e6))
}
let scrapeRounds = 2_000
let scrapeStart = threadCPUTime()
for _ in 0..<scrapeRounds { scrape(scraped.engine) }
let scrapeMicroseconds = (threadCPUTime() - scrapeStart) / Double(scrapeRounds) * 1e6
let metricsRatios = metricsPerPacket.map { $0.scraped / $0.plain }.sorted()
print("")
print("metrics: a scrape every \(scrapeEvery) packets (\(packetsPerRound / scrapeEvery) per round; a server scraped once a second sees far fewer)")
for (i, p) in metricsPerPacket.enumerated() {
    print(String(format: "round %d: %.3f µs per copy with scrapes, %.3f without, ratio %.3f", i, p.scraped, p.plain, p.scraped / p.plain))
}
print(String(format: "median ratio with/without scrapes: %.3f", metricsRatios[metricsRatios.count / 2]))
print(String(format: "one scrape (4 participants, %d bytes of exposition): %.1f µs of CPU, %.5f%% of a loop scraped once a second",
             exposedBytes, scrapeMicroseconds, scrapeMicroseconds / 1e6 * 100))

// MARK: Transport-wide stamping and estimation

let stamped = try Bench(lossRepair: true, transportWide: true)
let unstamped = try Bench(lossRepair: true)
var stampPerPacket: [(stamped: Double, plain: Double)] = []
for r in 0..<rounds {
    let a = stamped.run(round: r), b = unstamped.run(round: r)
    guard a.forwarded == 3 * packetsPerRound, b.forwarded == 3 * packetsPerRound,
          stamped.engine.counters.transportWideStamped >= (r + 1) * 3 * packetsPerRound else {
        fatalError("forwarded \(a.forwarded) and \(b.forwarded) copies; stamped \(stamped.engine.counters.transportWideStamped)")
    }
    stampPerPacket.append((a.seconds / Double(a.forwarded) * 1e6, b.seconds / Double(b.forwarded) * 1e6))
}
let stampRatios = stampPerPacket.map { $0.stamped / $0.plain }.sorted()
print("")
print("transport-wide: every copy stamped and noted in the subscriber's send history, against none")
for (i, p) in stampPerPacket.enumerated() {
    print(String(format: "round %d: %.3f µs per copy stamped, %.3f without, ratio %.3f", i, p.stamped, p.plain, p.stamped / p.plain))
}
print(String(format: "median ratio stamped/unstamped: %.3f", stampRatios[stampRatios.count / 2]))

// The estimator's share: feedback on 100 packets at a time, as a subscriber
// sends every 50-100 ms, per packet reported.
var estimator = BandwidthEstimator()
var recorder = TransportFeedbackRecorder()
let feedbackClock = ManualClock()
var estimateSeconds = 0.0
var reported = 0
for _ in 0..<200 {
    for _ in 0..<100 {
        feedbackClock.advance(by: .microseconds(700))
        let seq = estimator.send(size: 1_200, at: feedbackClock.now)
        recorder.record(seq, at: feedbackClock.now + .milliseconds(20))
    }
    // Within the send history's reach, as a subscriber's feedback is.
    let batch = recorder.feedback(now: feedbackClock.now + .milliseconds(21), senderSSRC: 1, mediaSSRC: 0)
    let start = threadCPUTime()
    for feedback in batch { estimator.receive(feedback, now: feedbackClock.now + .milliseconds(21)) }
    estimateSeconds += threadCPUTime() - start
    reported += batch.reduce(0) { $0 + $1.packets.count }
}
guard estimator.ackedBitrate != nil, estimator.bytesInFlight < 200 * 1_200 else {
    fatalError("the estimator saw no feedback: in flight \(estimator.bytesInFlight)")
}
let estimateMicroseconds = estimateSeconds / Double(reported) * 1e6
let medianPlain = stampPerPacket.map(\.plain).sorted()[rounds / 2]
print(String(format: "estimation: %.3f µs per reported packet, %.3f of a plain copy's %.3f µs", estimateMicroseconds,
             estimateMicroseconds / medianPlain, medianPlain))
