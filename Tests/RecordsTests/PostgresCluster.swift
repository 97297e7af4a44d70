import Foundation
@testable import Records

/// A throwaway PostgreSQL cluster for the tests, as Tests/e2e/pg_cluster.py:
/// initdb into a temporary directory owned by the `postgres` OS user
/// (PostgreSQL refuses to run as root), the server on 127.0.0.1 with a free
/// port and its socket in that directory. `pg_ctl -w` waits until it accepts
/// connections: nothing sleeps.
final class PostgresCluster: @unchecked Sendable {
    static let password = "pg-secret-Xy7"
    let directory: URL
    let port: Int
    private let bin: String
    private let asRoot = geteuid() == 0

    enum Failure: Error, CustomStringConvertible {
        case command(String, String)
        var description: String {
            if case .command(let c, let out) = self { return "\(c) failed: \(out)" }
            return ""
        }
    }

    init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.filter({ FileManager.default.fileExists(atPath: "/usr/lib/postgresql/\($0)/bin/pg_ctl") })
            .sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }).last else {
            throw Failure.command("initdb", "PostgreSQL is not installed: run Scripts/bootstrap.sh (apt-get install postgresql)")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        setenv("PGPASSWORD", Self.password, 1)  // psql
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-pg-\(UUID().uuidString)")
        port = try Self.freePort()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pwfile = directory.appendingPathComponent("pw").path
        try (Self.password + "\n").write(toFile: pwfile, atomically: true, encoding: .utf8)
        if asRoot {
            try run("/usr/bin/chown", "postgres:postgres", directory.path, pwfile, asPostgres: false)
            try run("/usr/bin/chmod", "700", directory.path, asPostgres: false)
        }
        try run("\(bin)/initdb", "-D", directory.appendingPathComponent("data").path, "-U", "postgres",
                "--auth=scram-sha-256", "--pwfile=\(pwfile)", "-E", "UTF8", "--no-sync")
        try start()
        try psql("CREATE DATABASE cohort")
    }

    func url(database: String = "cohort", password: String = PostgresCluster.password) throws -> PostgresURL {
        try PostgresURL(parsing: "postgres://postgres:\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable")!
    }

    func start() throws {
        try run("\(bin)/pg_ctl", "-D", directory.appendingPathComponent("data").path,
                "-l", directory.appendingPathComponent("log").path,
                "-o", "-h 127.0.0.1 -p \(port) -k \(directory.path) -c fsync=off", "-w", "-t", "60", "start")
    }

    func stop() throws {
        try run("\(bin)/pg_ctl", "-D", directory.appendingPathComponent("data").path, "-m", "fast", "-w", "-t", "60", "stop")
    }

    /// Stops the server and removes its files.
    func destroy() {
        try? stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The unaligned output of `sql` in `database`.
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        try run("\(bin)/psql", "-h", directory.path, "-p", "\(port)", "-U", "postgres", "-d", database, "-At",
                "-v", "ON_ERROR_STOP=1", "-c", sql)
    }

    @discardableResult
    private func run(_ command: String, _ args: String..., asPostgres: Bool = true) throws -> String {
        let argv = (asRoot && asPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--", command] : [command]) + args
        let text = try Self.spawn(argv)
        guard text.status == 0 else { throw Failure.command(argv.joined(separator: " "), text.output) }
        return text.output
    }

    /// posix_spawn and waitpid, output into a file. Not Foundation's Process:
    /// the server that pg_ctl starts inherits the output descriptor, and
    /// Process then never reports pg_ctl's exit.
    private static func spawn(_ argv: [String]) throws -> (status: Int32, output: String) {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("cohort-pg-out-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw Failure.command(argv.joined(separator: " "), "posix_spawn: \(rc)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard bound else { throw Failure.command("bind", "no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
