import Foundation
import NIOCore
import NIOPosix

/// A `cohort serve` the harness started itself on loopback, stopped at the end.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let httpPort: Int
    let mediaPort: Int
    let logPath: String

    /// Starts `binary serve --http 127.0.0.1:HTTP --media 127.0.0.1:MEDIA` with
    /// the secret in COHORT_SECRET (flags show in `ps`).
    init(binary: String, httpPort: Int, mediaPort: Int, secret: String, logPath: String, extraArguments: [String]) throws {
        self.httpPort = httpPort
        self.mediaPort = mediaPort
        self.logPath = logPath
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--http", "127.0.0.1:\(httpPort)", "--media", "127.0.0.1:\(mediaPort)",
                             "--log-level", "warning"] + extraArguments
        var env = ProcessInfo.processInfo.environment
        env["COHORT_SECRET"] = secret
        // Every simulated participant joins from 127.0.0.1: no per-address
        // join limit, and no per-address connection cap (default 200).
        env["COHORT_JOINS_PER_ADDRESS_PER_MINUTE"] = "0"
        env["COHORT_MAX_CONNECTIONS_PER_ADDRESS"] = env["COHORT_MAX_CONNECTIONS_PER_ADDRESS"] ?? "10000"
        process.environment = env
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits until the HTTP port accepts TCP, up to `timeout`.
    func waitUntilListening(group: any EventLoopGroup) async throws {
        let p = process
        try await Self.waitUntilListening(port: httpPort, group: group, isRunning: { p.isRunning })
    }

    /// Waits until `host`:`port` (loopback) accepts TCP while `isRunning()` holds, up to `timeout`.
    static func waitUntilListening(host: String = "127.0.0.1", port: Int, group: any EventLoopGroup, timeout: TimeInterval = 15,
                                   isRunning: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard isRunning() else { throw HarnessError("the server is not running") }
            if let channel = try? await ClientBootstrap(group: group).connectTimeout(.milliseconds(200))
                .connect(host: host, port: port).get() {
                try? await channel.close()
                return
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw HarnessError("nothing listens on \(host):\(port) after \(Int(timeout)) s")
    }

    /// SIGTERM, then SIGKILL after 5 s.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// A harness failure with a message for the command line.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
