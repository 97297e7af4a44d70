import ControlPlane
import Directory

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
}
