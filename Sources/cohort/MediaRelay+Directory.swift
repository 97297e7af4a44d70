import ControlPlane
import Directory
import NIOWebSocket

/// Scale-out: a join reaches the node its session is placed on
/// (docs/SCALE-OUT.md), before the session takes a socket here.
extension MediaRelay {
    /// Returns when the join belongs here; throws `redirect` when the
    /// session lives on another node, or a refusal the client can act on.
    func route(_ session: String, through directory: PostgresDirectory) async throws(SignalingError) {
        // A session running here stays here while this node is surely alive to the others.
        if isRunningHere(session), await directory.mayServeRunningSessions() { return }
        switch await directory.route(session) {
        case .here:
            return
        case .redirect(let url):
            logger.info("join redirected", metadata: ["session": "\(session)", "to": "\(url)"])
            throw .redirect(to: url)
        case .unavailable(let retryAfter):
            logger.info("join refused", metadata: ["code": "\(ErrorCode.directoryUnavailable)", "session": "\(session)"])
            throw SignalingError(code: .directoryUnavailable,
                                 message: "The session directory cannot be reached; try again shortly.",
                                 retryAfter: retryAfter)
        case .noCapacity:
            logger.info("join refused", metadata: ["code": "\(ErrorCode.noCapacity)", "session": "\(session)"])
            throw SignalingError(code: .noCapacity, message: "No server has room for this session now; try again later.",
                                 retryAfter: 30)
        }
    }

    /// Fencing: the directory placed these sessions on another node (this
    /// node looked dead to the others, e.g. cut off from the database), so
    /// their calls here end: each WebSocket closes with 1012 (service
    /// restart), and clients that rejoin by themselves are redirected to the
    /// session's node. A session never runs on two nodes for longer than a heartbeat.
    func evict(sessions: Set<String>) {
        // No grace period here: the session now runs elsewhere.
        let away = withdrawResume(inSessions: sessions)
        for id in away { Task { await removeEvicted(id) } }
        let connections = connections(inSessions: sessions)
        logger.warning("sessions placed on another node: ending their calls here",
                       metadata: ["sessions": "\(sessions.sorted())", "participants": "\(connections.count)"])
        for c in connections { c.close(code: WebSocketErrorCode(codeNumber: 1012)) }
    }
}
