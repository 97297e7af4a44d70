import ControlPlane
import Logging
import NIOCore
import NIOPosix
import Tokens

/// A control plane on an ephemeral loopback port, with a fixed clock and a recording delegate.
struct ServerHarness {
    static let secret = "control-plane-test-secret-0123456789"
    static let now: Int64 = 1_700_000_000
    static let page = Array("<!doctype html><title>Cohort test page</title>".utf8)

    let group: MultiThreadedEventLoopGroup
    let server: ControlPlaneServer
    let delegate: RecordingDelegate
    let port: Int
    let signer = TokenSigner(secret: ServerHarness.secret)

    static func start(expectedSession: String? = nil,
                      configure: (inout ControlPlaneConfiguration) -> Void = { _ in }) async throws -> ServerHarness {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let files = StaticFiles(files: [
            "/index.html": .init(bytes: page, contentType: "text/html; charset=utf-8"),
            "/app.js": .init(bytes: Array("console.log(1)".utf8), contentType: "text/javascript; charset=utf-8"),
        ])
        var configuration = ControlPlaneConfiguration(host: "127.0.0.1", port: 0, signer: TokenSigner(secret: secret),
                                                      expectedSession: expectedSession, staticFiles: files)
        configuration.now = { ServerHarness.now }
        configure(&configuration)
        let delegate = RecordingDelegate()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = ControlPlaneServer(configuration: configuration, delegate: delegate, group: group, logger: logger)
        let address = try await server.start()
        return ServerHarness(group: group, server: server, delegate: delegate, port: address.port!)
    }

    func stop() async throws {
        await server.shutdown()
        try await group.shutdownGracefully()
    }

    func token(session: String = "group-1", room: String = "main", name: String = "Dana", role: ParticipantRole = .participant,
               expiresAt: Int64 = ServerHarness.now + 600, issuedAt: Int64 = ServerHarness.now - 10, subject: String? = "u-1") -> String {
        signer.mint(TokenClaims(session: session, room: room, name: name, role: role,
                                expiresAt: expiresAt, issuedAt: issuedAt, subject: subject))
    }

    func connect(path: String = "/ws") async throws -> TestWebSocketClient {
        try await TestWebSocketClient.connect(port: port, path: path, group: group)
    }

    func get(_ path: String, method: String = "GET") async throws -> (status: Int, headers: [String: String], body: String) {
        let response = try await RawHTTP.exchange("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                                                  port: port, group: group)
        return RawHTTP.parse(response)
    }
}
