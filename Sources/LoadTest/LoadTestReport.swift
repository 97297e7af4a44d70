import Foundation

/// The result of one run, written as report.json and report.md with SVG charts.
public struct LoadTestReport: Codable, Sendable {
    /// The scenario as run.
    public var scenario: Scenario
    /// ISO 8601 start time (wall clock, for the record only).
    public var startedAt: String
    /// Seconds the run lasted, ramp included.
    public var elapsedSeconds: Double
    /// How the server was reached and watched.
    public var server: String
    /// Harness event loops.
    public var eventLoops: Int
    /// Participants the scenario asked for.
    public var targetParticipants: Int
    /// Counters by name.
    public var counters: [String: Int]
    /// Join failures by reason.
    public var joinFailures: [String: Int]
    /// WebSocket connect → first media from every room peer present at join.
    public var joinTime: PercentileSummary
    /// WebSocket connect → `joined`.
    public var signallingTime: PercentileSummary
    /// Answer → DTLS-SRTP connected.
    public var iceDTLSTime: PercentileSummary
    /// Breakout moves: host command → first packet from a new room-mate, ms.
    public var moveLatency: PercentileSummary
    /// One-way audio latency.
    public var audioLatency: PercentileSummary
    /// One-way video latency.
    public var videoLatency: PercentileSummary
    /// Harness send lateness.
    public var pacingLateness: PercentileSummary
    /// Server lost → media from every room peer again (only when the server went away during the run).
    public var apartTime: PercentileSummary?
    /// Loss accounting.
    public var streams: StreamTotals
    /// Server CPU per forwarded RTP packet, µs (nil without server sampling).
    public var serverCPUMicrosecondsPerPacket: Double?
    /// The same over the seconds in which every participant was connected
    /// at both ends of the sample (joins' ICE and DTLS work left out): what
    /// forwarding costs, as `Scripts/loadtest-baseline.sh` compares it with
    /// the C relay, which counts from its first packet. Nil with fewer than
    /// three such seconds.
    public var serverSteadyCPUMicrosecondsPerPacket: Double?
    /// The harness's own CPU per RTP packet it received, µs (its sending
    /// included): what a received packet costs the load generator.
    public var harnessCPUMicrosecondsPerPacket: Double?
    /// Mean and peak server CPU, percent of one core.
    public var serverCPUMeanPercent: Double?
    /// Peak server CPU.
    public var serverCPUPeakPercent: Double?
    /// Peak server RSS, MiB.
    public var serverRSSPeakMiB: Double?
    /// Whether the harness limited the run.
    public var harness: HarnessHealth
    /// Scenario events skipped and why.
    public var notes: [String]
    /// The first isolation violations, described.
    public var violationSamples: [String]
    /// Pass/fail checks: name → passed.
    public var checks: [String: Bool]
    /// Per-second samples.
    public var timeSeries: [SecondSample]

    /// Creates a report from the merged statistics.
    public init(scenario: Scenario, startedAt: Date, elapsedSeconds: Double, server: String, eventLoops: Int,
                statistics s: RunStatistics, timeSeries: [SecondSample], harness: HarnessHealth, notes: [String],
                maximumLossPercent: Double) {
        self.scenario = scenario
        self.startedAt = ISO8601DateFormatter().string(from: startedAt)
        self.elapsedSeconds = elapsedSeconds
        self.server = server
        self.eventLoops = eventLoops
        targetParticipants = scenario.totalParticipants
        counters = Dictionary(uniqueKeysWithValues: Counter.allCases.map { ($0.rawValue, s[$0]) })
        joinFailures = s.joinFailures
        joinTime = s.joinTime.summary
        signallingTime = s.signallingTime.summary
        iceDTLSTime = s.iceDTLSTime.summary
        moveLatency = s.moveLatency.summary
        audioLatency = s.audioLatency.summary
        videoLatency = s.videoLatency.summary
        pacingLateness = s.pacingLateness.summary
        apartTime = s.apartTime.count > 0 ? s.apartTime.summary : nil
        streams = s.streams
        let cpu = timeSeries.compactMap(\.serverCPUPercent)
        if !cpu.isEmpty {
            let mean = cpu.reduce(0, +) / Double(cpu.count)
            serverCPUMeanPercent = mean
            serverCPUPeakPercent = cpu.max()
            serverRSSPeakMiB = timeSeries.compactMap(\.serverRSSMiB).max()
            // CPU seconds the server spent per packet it delivered (received by us).
            let cpuSeconds = cpu.reduce(0, +) / 100
            let received = Double(s[.rtpReceived])
            serverCPUMicrosecondsPerPacket = received > 0 ? cpuSeconds / received * 1e6 : nil
            serverSteadyCPUMicrosecondsPerPacket = Self.steadyCPUPerPacket(timeSeries, participants: scenario.totalParticipants)
        }
        let harnessCPUSeconds = timeSeries.map(\.harnessCPUPercent).reduce(0, +) / 100
        let received = Double(s[.rtpReceived])
        harnessCPUMicrosecondsPerPacket = received > 0 ? harnessCPUSeconds / received * 1e6 : nil
        self.harness = harness
        self.notes = notes
        violationSamples = s.violationSamples
        checks = [
            "no isolation violations": s[.isolationViolations] == 0,
            String(format: "loss below %.1f%%", maximumLossPercent): s.streams.lossPercent < maximumLossPercent,
            "media flowed": s[.rtpReceived] > 0,
            "no join failed": s[.joinsFailed] == 0,
        ]
        self.timeSeries = timeSeries
    }

    /// True when every check passed.
    public var passed: Bool { checks.values.allSatisfy { $0 } }

    /// Pretty, key-sorted JSON.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }
}

extension LoadTestReport {
    /// Server CPU µs per packet the harness received, over the samples whose
    /// second began and ended with every participant connected (each sample
    /// weighted by its own length).
    static func steadyCPUPerPacket(_ series: [SecondSample], participants: Int) -> Double? {
        var cpuSeconds = 0.0, packets = 0.0, seconds = 0
        for (previous, sample) in zip(series, series.dropFirst())
        where previous.connected >= participants && sample.connected >= participants {
            guard let cpu = sample.serverCPUPercent else { continue }
            let length = sample.t - previous.t
            cpuSeconds += cpu / 100 * length
            packets += sample.packetsInPerSecond * length
            seconds += 1
        }
        return seconds >= 3 && packets > 0 ? cpuSeconds / packets * 1e6 : nil
    }
}
