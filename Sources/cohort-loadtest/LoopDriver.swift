import LoadTest
import NIOCore
import Wire

/// Counters of one second on one loop, taken and reset by the sampler.
struct IntervalCounters: Sendable {
    var packetsIn = 0
    var packetsOut = 0
    var latency = LatencyHistogram()
    var pacing = LatencyHistogram()
    var connected = 0
    /// Live totals over current streams (not reset).
    var expected = 0
    var received = 0
}

/// Runs the participants assigned to one event loop: one repeating tick
/// drives every participant's timers and media, so there is one timer per
/// loop, not one per participant.
final class LoopDriver: @unchecked Sendable {  // confined to `loop`
    let loop: any EventLoop
    let context: RunContext
    /// Everything this loop measured.
    var stats = RunStatistics()
    /// The current second's counters.
    var interval = IntervalCounters()
    /// Notes for the report (bounded).
    private(set) var notes: [String] = []
    private var notesDropped = 0
    private var participants: [Int: SimulatedParticipant] = [:]  // by OriginID.person
    private var incarnations: [Int: Int] = [:]
    private var ticker: RepeatedTask?
    /// WebSockets of vanished participants, left open and silent until the end.
    var ghosts: [WebSocketConnection] = []

    /// Tick period: media deadlines are 20 ms (audio) and ≥ 16 ms (video).
    static let tickPeriod = TimeAmount.milliseconds(2)

    init(loop: any EventLoop, context: RunContext) {
        self.loop = loop
        self.context = context
    }

    func start() {
        ticker = loop.scheduleRepeatedTask(initialDelay: Self.tickPeriod, delay: Self.tickPeriod) { [self] _ in
            let now = Clock.now()
            for p in participants.values { p.tick(now: now) }
        }
    }

    /// Set by `finish`: no more joins.
    private var finished = false

    /// Joins member `member` of `session` again after the server went away
    /// at `lostAt`: within the server's `retryAfter` (at random in its last
    /// four fifths, as the web client does), or after a back-off doubling
    /// from 250 ms to 4 s drawn from its upper half, so that a restarted
    /// server does not get every participant in one instant.
    func rejoinAfterServerLoss(session: Int, member: Int, lostAt: Instant, attempt: Int, retryAfter: Int?) {
        let ceiling = retryAfter.map { Int64($0) * 1000 } ?? min(4000, 250 << Int64(min(attempt - 1, 4)))
        let floor = retryAfter == nil ? ceiling / 2 : ceiling / 5
        let delay = TimeAmount.milliseconds(floor + Int64.random(in: 0...max(1, ceiling - floor)))
        loop.scheduleTask(in: delay) { [self] in
            join(session: session, member: member, serverLost: (lostAt, attempt))
        }
    }

    /// Starts member `member` of `session` (a new incarnation if it was here before).
    func join(session: Int, member: Int, serverLost: (at: Instant, attempt: Int)? = nil) {
        let person = OriginID(session: session, member: member, incarnation: 0).person
        guard !finished, participants[person] == nil else { return }
        let incarnation = incarnations[person, default: -1] + 1
        incarnations[person] = incarnation
        if incarnation > 0 { stats.add(.rejoins) }
        let p = SimulatedParticipant(origin: OriginID(session: session, member: member, incarnation: incarnation),
                                     context: context, driver: self)
        participants[person] = p
        p.serverLost = serverLost
        p.start()
    }

    /// Applies a churn action to member `member` of `session`, if it is here.
    func act(_ action: ScenarioAction, session: Int, member: Int, event: ScenarioEvent? = nil) {
        let event = event ?? ScenarioEvent(at: 0, action: action)
        let person = OriginID(session: session, member: member, incarnation: 0).person
        switch action {
        case .leave: participants[person]?.leave()
        case .vanish: participants[person]?.vanish()
        case .rejoin: join(session: session, member: member)
        case .split, .move, .listenIn, .close: participants[person]?.host(event)
        }
    }

    func removed(_ p: SimulatedParticipant) {
        if participants[p.origin.person] === p { participants[p.origin.person] = nil }
    }

    func pacing(_ lateness: TimeSpan) {
        stats.pacingLateness.record(lateness)
        interval.pacing.record(lateness)
    }

    func note(_ text: String) {
        if notes.count < 50 { notes.append(text) } else { notesDropped += 1 }
    }

    /// The last second's counters; resets them.
    func takeInterval() -> IntervalCounters {
        var out = interval
        out.connected = participants.values.filter(\.isConnected).count
        for p in participants.values {
            let c = p.liveCounts
            out.expected += c.expected
            out.received += c.received
        }
        interval = IntervalCounters()
        return out
    }

    /// Stops every participant (with `leave`) and returns what this loop measured.
    func finish() -> (RunStatistics, [String]) {
        finished = true
        ticker?.cancel()
        for p in Array(participants.values) { p.leave(counted: false); p.teardown() }
        for g in ghosts { g.abort() }
        ghosts.removeAll()
        if notesDropped > 0 { notes.append("… and \(notesDropped) more notes on this loop") }
        return (stats, notes)
    }
}
