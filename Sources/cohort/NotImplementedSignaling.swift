import ControlPlane
import Logging

/// The delegate `serve` uses until the SFU engine exists: every join is refused
/// with `not-implemented`, after the control plane has verified the token.
struct NotImplementedSignaling: SignalingDelegate {
    let logger: Logger

    func join(_ request: AuthorizedJoin, connection: ClientConnection) async throws(SignalingError) -> JoinResult {
        logger.info("join refused: no engine yet", metadata: ["session": "\(request.claims.session)", "conn": "\(connection)"])
        throw SignalingError(code: .notImplemented, message: "media engine not implemented yet")
    }

    func leave(participantId: String, connection: ClientConnection) async {}

    func disconnected(participantId: String, connection: ClientConnection) async {}
}
