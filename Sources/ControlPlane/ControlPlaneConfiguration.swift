#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import Tokens

/// Everything the control plane needs to run, resolved by the caller (the CLI).
public struct ControlPlaneConfiguration: Sendable {
    /// Address to listen on.
    public var host: String
    /// TCP port; 0 picks an ephemeral port (tests).
    public var port: Int
    /// Verifies join tokens.
    public var signer: TokenSigner
    /// When set, only tokens for this session are accepted on this server.
    public var expectedSession: String?
    /// The web client.
    public var staticFiles: StaticFiles
    /// Largest WebSocket message, after joining fragments; larger closes with 1009.
    public var maxMessageSize: Int = 64 * 1024
    /// Set when each token (`jti`) admits one join only (`--single-use-tokens on`).
    public var singleUseTokens: TokenReplayGuard?
    /// Which page origins may open a WebSocket (`--allowed-origins`).
    public var origins = OriginPolicy()
    /// What one connection may make the server read and parse (`InputPacer`).
    public var inputBudget = InputBudget()
    /// Time a new WebSocket has to complete `join`.
    public var joinTimeout: TimeAmount = .seconds(15)
    /// Time the peer has to answer our Close before we drop TCP (RFC 6455 §7.1.1).
    public var closeTimeout: TimeAmount = .seconds(5)
    /// Connection caps, timeouts and outbound buffering bounds.
    public var limits = ConnectionLimits()
    /// The attendance and audit records served at `/records/...` (nil: records off, 404).
    public var records: (any RecordsSource)?
    /// Joins admitted and refused by reason, for the metrics (nil: not counted).
    public var joinOutcomes: JoinOutcomes?
    /// What `GET /readyz` answers from (nil: always ready, as before lifecycle).
    public var readiness: Readiness?
    /// `GET /metrics` on this listener (nil: 404, off or on its own listener).
    public var metrics: (any MetricsSource)?
    /// Wall clock in Unix seconds, for token expiry. Injected so tests can fix it.
    public var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// Creates a configuration with the defaults above.
    public init(host: String, port: Int, signer: TokenSigner, expectedSession: String? = nil, staticFiles: StaticFiles) {
        self.host = host
        self.port = port
        self.signer = signer
        self.expectedSession = expectedSession
        self.staticFiles = staticFiles
    }
}
