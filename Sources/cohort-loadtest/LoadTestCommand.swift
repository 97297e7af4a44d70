import ArgumentParser
import DTLS
import Foundation
import LoadTest
import NIOCore
import NIOPosix
import Tokens

/// `cohort-loadtest SCENARIO`: simulated participants against a Cohort server on loopback.
@main
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohort-loadtest",
        abstract: "Simulate hundreds of Cohort participants (WebSocket, ICE, DTLS, SRTP) against a server on 127.0.0.1.",
        discussion: """
        Exit status: 0 when every check passed (no isolation violation, loss below --max-loss-percent, \
        media flowed, no join failed), 1 when a check failed, 2 when the run could not be made.
        """)

    @Argument(help: "Scenario name (loadtest/scenarios/NAME.json) or path to a scenario JSON file.")
    var scenario: String

    @Option(help: "WebSocket URL of a running server; only ws://127.0.0.1 or ws://localhost.")
    var server: String = "ws://127.0.0.1:8080/ws"

    @Option(help: "Scale-out: WebSocket URLs of several nodes of one directory, comma-separated (loopback only); each participant enters through a random one and follows `redirect`. Replaces --server.")
    var servers: String?

    @Option(help: "Start this `cohort` binary on loopback instead of using --server; it is stopped at the end.")
    var serverBinary: String?

    @Option(help: "Sample this process's CPU and memory (the server, when not started with --server-binary).")
    var serverPID: Int32?

    /// `.unconditional`: a secret may begin with `-` (one random URL-safe
    /// secret in 64 does), and must still be read as the value.
    @Option(parsing: .unconditional,
            help: "Token secret of the running server (or env COHORT_SECRET). Generated with --server-binary.")
    var secret: String?

    @Option(help: "Harness event loops (threads).")
    var loops: Int = 1

    @Option(help: "Override the scenario's duration, seconds.")
    var duration: Double?

    @Option(help: "Loss (not injected by the harness) above which the run fails, percent.")
    var maxLossPercent: Double = 1.0

    @Option(help: "Directory under which results/<date>-<scenario>/ is written.")
    var results: String = "loadtest/results"

    @Option(help: "Directory holding NAME.json scenarios.")
    var scenarios: String = "loadtest/scenarios"

    @Option(help: "Receivers authenticate and decrypt one in this many SRTP packets per slot (and the first ones after every slot change) to check origin and isolation; loss, jitter and latency come from the clear RTP header of every packet. 1 decrypts every packet. Scenarios that inject loss always decrypt every packet.")
    var decryptOneIn: Int = 8

    @Flag(help: "No live progress line.")
    var quiet = false

    mutating func run() async throws {
        var sc: Scenario
        do {
            let path = scenario.hasSuffix(".json") || scenario.contains("/") ? scenario : "\(scenarios)/\(scenario).json"
            sc = try Scenario.load(path: path)
        } catch {
            throw HarnessError(error.description)
        }
        if let duration { sc.durationSeconds = duration }
        guard (1...64).contains(loops) else { throw ValidationError("--loops must be 1...64") }
        guard decryptOneIn >= 1 else { throw ValidationError("--decrypt-one-in must be 1 or more") }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
        var started: ServerProcess?
        let outcome: Int32
        do {
            var targets: [LoadTestTarget]
            let secretValue: String
            var pid = serverPID
            let resultsDir = ReportWriter.directory(root: results, scenario: sc.name)
            try FileManager.default.createDirectory(atPath: resultsDir, withIntermediateDirectories: true)
            if let serverBinary {
                secretValue = secret ?? TokenSigner.randomSecret()
                // Media on port 0: the server binds one UDP socket per loop on free ports.
                let ports = try Self.freePorts(1)
                let s = try ServerProcess(binary: serverBinary, httpPort: ports[0], mediaPort: 0,
                                          secret: secretValue, logPath: "\(resultsDir)/server.log", extraArguments: [])
                started = s
                pid = s.pid
                try await s.waitUntilListening(group: group)
                targets = [LoadTestTarget(loopbackURL: "ws://127.0.0.1:\(ports[0])/ws")!]
            } else {
                guard let s = secret ?? ProcessInfo.processInfo.environment["COHORT_SECRET"] else {
                    throw ValidationError("--secret or COHORT_SECRET is needed to mint tokens for a running server")
                }
                secretValue = s
                targets = try (servers?.split(separator: ",").map(String.init) ?? [server]).map(Self.parseLoopbackURL)
                for target in targets {
                    try await ServerProcess.waitUntilListening(host: target.host, port: target.port, group: group, isRunning: {
                        pid.map { kill($0, 0) == 0 } ?? true
                    })
                }
            }
            let runner = try Runner(scenario: sc, targets: targets, secret: secretValue, serverPID: pid,
                                    group: group, loops: loops, quiet: quiet, maxLossPercent: maxLossPercent,
                                    serverDescription: serverBinary.map { "\($0) (started by the harness)" } ?? server,
                                    sampler: ReceiveSampler(oneIn: decryptOneIn))
            let (report, statistics) = try await runner.run()
            let files = try ReportWriter.write(report: report, statistics: statistics, to: resultsDir)
            FileHandle.standardError.write(Data(("\n" + report.summaryLines.joined(separator: "\n") + "\n").utf8))
            FileHandle.standardError.write(Data("report: \(files.first(where: { $0.hasSuffix(".md") }) ?? resultsDir)\n".utf8))
            outcome = report.passed ? 0 : 1
        } catch {
            started?.stop()
            try? await group.shutdownGracefully()
            FileHandle.standardError.write(Data("cohort-loadtest: \(error)\n".utf8))
            throw ExitCode(2)
        }
        started?.stop()
        try? await group.shutdownGracefully()
        if outcome != 0 { throw ExitCode(outcome) }
    }

    /// Only loopback targets: this tool never sends anywhere else.
    static func parseLoopbackURL(_ url: String) throws -> LoadTestTarget {
        guard let target = LoadTestTarget(loopbackURL: url) else {
            throw ValidationError("--server \"\(url)\" must be ws://127.x.y.z:PORT/ws (loopback only)")
        }
        return target
    }

    /// Ports the kernel reports free right now on 127.0.0.1 (TCP for HTTP, and the same number is tried for UDP).
    static func freePorts(_ n: Int) throws -> [Int] {
        var ports: [Int] = []
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        for _ in 0..<n {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
                }
            }
            guard ok else { throw HarnessError("cannot find a free port") }
            sockets.append(fd)
            ports.append(Int(UInt16(bigEndian: addr.sin_port)))
        }
        return ports
    }
}

extension LoadTestReport {
    static func percentiles(_ p: PercentileSummary, none: String) -> String {
        p.count == 0 ? none : String(format: "p50 %.2f / p95 %.2f / p99 %.2f ms", p.p50, p.p95, p.p99)
    }

    /// The few lines printed at the end of a run.
    var summaryLines: [String] {
        let s = streams
        return [
            "\(passed ? "PASS" : "FAIL") \(scenario.name): \(targetParticipants) participants, joins started \(counters["joinsStarted"] ?? 0), "
                + "media connected \(counters["mediaConnected"] ?? 0), saw every peer \(counters["joinsComplete"] ?? 0), failed \(counters["joinsFailed"] ?? 0); "
                + String(format: "loss %.3f%%, isolation violations %d", s.lossPercent, counters["isolationViolations"] ?? 0),
            "audio latency " + Self.percentiles(audioLatency, none: "not measured (mixed audio carries no send time)")
                + "; video " + Self.percentiles(videoLatency, none: "none"),
            String(format: "join p50 %.0f / p95 %.0f ms; ICE+DTLS p50 %.0f / p95 %.0f ms", joinTime.p50, joinTime.p95,
                   iceDTLSTime.p50, iceDTLSTime.p95)
                + "; breakout move " + Self.percentiles(moveLatency, none: "none"),
            String(format: "harness CPU per received packet %@ µs (sending included); decrypted %d of %d received",
                   harnessCPUMicrosecondsPerPacket.map { String(format: "%.2f", $0) } ?? "n/a",
                   counters["rtpDecrypted"] ?? 0, counters["rtpReceived"] ?? 0),
        ] + checks.filter { !$0.value }.map { "failed: \($0.key)" } + harness.findings
    }
}
