/// `ice-restart`: a joined client's new offer with new ICE credentials
/// (docs/PROTOCOL.md): its network changed or its ICE failed. Answered by
/// `ice-restarted` or `error`.
public struct IceRestartRequest: Codable, Equatable, Sendable {
    /// Request id, echoed by `ice-restarted` or `error`.
    public var id: String
    /// The new SDP offer (RFC 8829 §5.2.1 with iceRestart): the join's
    /// sections with new ice-ufrag and ice-pwd.
    public var sdp: String
    /// Optional: the participant whose ICE restarts. Only the sender's own
    /// id is accepted (anything else is `forbidden`); a client need not send it.
    public var participantId: String?

    /// Creates a request.
    public init(id: String, sdp: String, participantId: String? = nil) {
        self.id = id
        self.sdp = sdp
        self.participantId = participantId
    }
}

/// `ice-restarted`: the answer to an `ice-restart`, with the server's new
/// ICE credentials and the same slots as before.
public struct IceRestarted: Codable, Equatable, Sendable {
    /// The request's id.
    public var id: String
    /// The SDP answer.
    public var sdp: String

    /// Creates the reply.
    public init(id: String, sdp: String) {
        self.id = id
        self.sdp = sdp
    }
}
