import DTLS
import Foundation
import LoadTest
import NIOCore
import NIOPosix
import Tokens
import Wire

/// One run of a scenario: the join ramp, the choreography, one sample per
/// second (progress line, time series, server and harness CPU), and the report.
final class Runner: @unchecked Sendable {  // used from the command's task only
    let scenario: Scenario
    let context: RunContext
    let drivers: [LoopDriver]
    let serverPID: Int32?
    let quiet: Bool
    let maxLossPercent: Double
    let serverDescription: String
    private var notes: [String] = []
    /// Members present per session, as far as the choreography knows.
    private var present: [Set<Int>]
    private var gone: [[Int]]

    init(scenario: Scenario, targets: [LoadTestTarget], secret: String, serverPID: Int32?,
         group: MultiThreadedEventLoopGroup, loops: Int, quiet: Bool, maxLossPercent: Double,
         serverDescription: String, sampler: ReceiveSampler = ReceiveSampler()) throws {
        self.scenario = scenario
        let certificate = try DTLSCertificate(commonName: "cohort-loadtest")
        let audio = try AudioClip()
        let silence = try AudioClip(amplitude: 0)
        context = RunContext(scenario: scenario, entries: targets,
                             signer: TokenSigner(secret: secret), certificate: certificate, audio: audio, silence: silence,
                             sessionPrefix: "lt\(UInt16.random(in: 0...UInt16.max))", sampler: sampler)
        var it = group.makeIterator()
        var ds: [LoopDriver] = []
        for _ in 0..<loops { if let loop = it.next() { ds.append(LoopDriver(loop: loop, context: context)) } }
        drivers = ds
        self.serverPID = serverPID
        self.quiet = quiet
        self.maxLossPercent = maxLossPercent
        self.serverDescription = serverDescription
        present = Array(repeating: [], count: scenario.sessions)
        gone = Array(repeating: [], count: scenario.sessions)
    }

    private func driver(session: Int, member: Int) -> LoopDriver {
        drivers[(session * scenario.participantsPerSession + member) % drivers.count]
    }

    func run() async throws -> (LoadTestReport, RunStatistics) {
        let startDate = Date()
        let t0 = Clock.now()
        for d in drivers { d.loop.execute { d.start() } }

        // The join ramp: sessions fill side by side, member 0 (the host) first.
        let total = scenario.totalParticipants
        for k in 0..<total {
            let session = k % scenario.sessions
            let member = k / scenario.sessions
            let offset = total > 1 ? scenario.rampSeconds * Double(k) / Double(total - 1) : 0
            let d = driver(session: session, member: member)
            d.loop.scheduleTask(in: .nanoseconds(Int64(offset * 1e9))) { d.join(session: session, member: member) }
            present[session].insert(member)
        }

        var events = scenario.events.sorted { $0.at < $1.at }
        var samples: [SecondSample] = []
        var lastServer = serverPID.flatMap { ProcessSample.read(pid: String($0)) }
        var lastSelf = ProcessSample.read(pid: "self")
        var lastMachine = MachineSample.read()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var lastSampleAt = t0
        let end = t0 + .microseconds(Int64(scenario.durationSeconds * 1e6))
        var nextSample = t0 + .seconds(1)
        while true {
            let now = Clock.now()
            while let e = events.first, t0 + .microseconds(Int64(e.at * 1e6)) <= now {
                events.removeFirst()
                apply(e)
            }
            if now >= nextSample || now >= end {
                let seconds = max(0.001, (now - lastSampleAt).seconds)
                lastSampleAt = now
                nextSample = nextSample + .seconds(1)
                var interval = IntervalCounters()
                for d in drivers {
                    let i = try await d.loop.submit { d.takeInterval() }.get()
                    interval.packetsIn += i.packetsIn
                    interval.packetsOut += i.packetsOut
                    interval.latency.merge(i.latency)
                    interval.pacing.merge(i.pacing)
                    interval.connected += i.connected
                    interval.expected += i.expected
                    interval.received += i.received
                }
                var serverCPU: Double?
                var serverRSS: Double?
                if let pid = serverPID, let s = ProcessSample.read(pid: String(pid)) {
                    if let last = lastServer { serverCPU = ProcessSample.cpuPercent(from: last, to: s, seconds: seconds) }
                    serverRSS = Double(s.residentBytes) / 1_048_576
                    lastServer = s
                }
                var harnessCPU = 0.0
                if let s = ProcessSample.read(pid: "self") {
                    if let last = lastSelf { harnessCPU = ProcessSample.cpuPercent(from: last, to: s, seconds: seconds) }
                    lastSelf = s
                }
                var machineCPU: Double?
                if let m = MachineSample.read() {
                    if let last = lastMachine { machineCPU = MachineSample.busyPercent(from: last, to: m, cores: cores) }
                    lastMachine = m
                }
                let sample = SecondSample(
                    t: (now - t0).seconds, connected: interval.connected,
                    packetsOutPerSecond: Double(interval.packetsOut) / seconds,
                    packetsInPerSecond: Double(interval.packetsIn) / seconds,
                    latencyP95Ms: interval.latency.milliseconds(atPercentile: 95),
                    pacingP99Ms: interval.pacing.milliseconds(atPercentile: 99),
                    serverCPUPercent: serverCPU, serverRSSMiB: serverRSS, harnessCPUPercent: harnessCPU,
                    machineCPUPercent: machineCPU)
                samples.append(sample)
                if !quiet { progress(sample, expected: interval.expected, received: interval.received) }
            }
            if now >= end { break }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }

        var statistics = RunStatistics()
        for d in drivers {
            let (s, n) = try await d.loop.submit { d.finish() }.get()
            statistics.merge(s)
            notes += n
        }
        if scenario.wireAudioMode == "mix" && statistics[.rtpWithoutProbe] == 0 && statistics[.rtpReceived] > 0 {
            notes.append("audioMode mix was asked for, but no mixed audio arrived (every packet carried its sender's "
                         + "probe): this server forwarded the audio instead")
        }
        // Let the leaves and Close frames go out before the loops stop.
        try await Task.sleep(nanoseconds: 300_000_000)

        let health = HarnessHealth.assess(harnessCPU: samples.map(\.harnessCPUPercent),
                                          serverCPU: samples.compactMap(\.serverCPUPercent),
                                          loops: drivers.count, cores: cores,
                                          pacingP99Ms: statistics.pacingLateness.milliseconds(atPercentile: 99),
                                          machineCPU: samples.compactMap(\.machineCPUPercent))
        let report = LoadTestReport(scenario: scenario, startedAt: startDate, elapsedSeconds: (Clock.now() - t0).seconds,
                                    server: serverDescription, eventLoops: drivers.count, statistics: statistics,
                                    timeSeries: samples, harness: health, notes: notes, maximumLossPercent: maxLossPercent)
        return (report, statistics)
    }

    /// Carries out one choreography step in every session.
    private func apply(_ e: ScenarioEvent) {
        if e.action.isHostCommand {
            // The host of every session issues the session command(s).
            notes.append(String(format: "%.0f s: host %@%@", e.at, e.action.rawValue, e.note.isEmpty ? "" : " (\(e.note))"))
            for session in 0..<scenario.sessions {
                let d = driver(session: session, member: 0)
                d.loop.execute { d.act(e.action, session: session, member: 0, event: e) }
            }
            return
        }
        for session in 0..<scenario.sessions {
            switch e.action {
            case .leave, .vanish:
                // Never the host (member 0): the group stays hosted.
                let chosen = present[session].filter { $0 != 0 }.sorted(by: >).prefix(e.count)
                for m in chosen {
                    present[session].remove(m)
                    gone[session].append(m)
                    let d = driver(session: session, member: m)
                    d.loop.execute { d.act(e.action, session: session, member: m) }
                }
            case .rejoin:
                let chosen = gone[session].prefix(e.count)
                gone[session].removeFirst(chosen.count)
                for m in chosen {
                    present[session].insert(m)
                    let d = driver(session: session, member: m)
                    d.loop.execute { d.act(.rejoin, session: session, member: m) }
                }
            default:
                break
            }
        }
    }

    private let isTTY = isatty(STDERR_FILENO) == 1

    private func progress(_ s: SecondSample, expected: Int, received: Int) {
        let loss = expected > 0 ? 100 * Double(max(0, expected - received)) / Double(expected) : 0
        var line = String(format: "[%5.1fs] connected %d/%d  out %.0f pkt/s  in %.0f pkt/s  loss %.2f%%  p95 %.2f ms",
                          s.t, s.connected, scenario.totalParticipants, s.packetsOutPerSecond, s.packetsInPerSecond,
                          loss, s.latencyP95Ms)
        if let c = s.serverCPUPercent { line += String(format: "  server %.0f%% %.0f MiB", c, s.serverRSSMiB ?? 0) }
        line += String(format: "  harness %.0f%%", s.harnessCPUPercent)
        FileHandle.standardError.write(Data((isTTY ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }
}
