import ControlPlane
import SFU
import Tokens

/// A `SignalingDelegate` that records what it is asked and answers as scripted.
actor RecordingDelegate: SignalingDelegate {
    private(set) var joins: [AuthorizedJoin] = []
    private(set) var leaves: [String] = []
    private(set) var disconnects: [String] = []
    private(set) var connections: [ClientConnection] = []
    /// When set, `join` throws it instead of admitting.
    var refusal: SignalingError?
    private var disconnectWaiters: [CheckedContinuation<String, Never>] = []

    func refuse(with error: SignalingError?) { refusal = error }

    func join(_ request: AuthorizedJoin, connection: ClientConnection) async throws(SignalingError) -> JoinResult {
        joins.append(request)
        connections.append(connection)
        if let refusal { throw refusal }
        let participantId = "p-\(joins.count)"
        return JoinResult(participantId: participantId, room: request.claims.room, answer: "v=0 answer",
                          slots: ["1": SlotSource(participantId: "p-0", track: .camera)],
                          roster: [RosterEntry(participantId: participantId, name: request.displayName,
                                               role: request.claims.role, room: request.claims.room)])
    }

    private(set) var commands: [(String, SessionCommand)] = []

    func command(_ command: SessionCommand, participantId: String, connection: ClientConnection) async throws(SignalingError) {
        commands.append((participantId, command))
        // A slow command: the actor is re-entrant while it yields, so a
        // command sent after this one could finish first unless the
        // control plane orders them.
        if case .move(_, let room) = command, room.rawValue.hasPrefix("slow") {
            for _ in 0..<500 { await Task.yield() }
        }
        if case .endSession = command { throw SignalingError(code: ErrorCode("forbidden"), message: "Only a host can do that.") }
        // As the engine does when a host ends the session: the sender is removed
        // (its connection closes with `left`) while its own command runs.
        if case .remove(let id) = command, id == participantId {
            connection.close(code: .normalClosure, after: .left(Left(reason: "session-ended")))
        }
    }

    func leave(participantId: String, connection: ClientConnection) async {
        leaves.append(participantId)
    }

    func disconnected(participantId: String, connection: ClientConnection) async {
        disconnects.append(participantId)
        let waiters = disconnectWaiters
        disconnectWaiters = []
        waiters.forEach { $0.resume(returning: participantId) }
    }

    /// Returns the first disconnected participant, waiting for one if needed.
    func nextDisconnect() async -> String {
        if let first = disconnects.first { return first }
        return await withCheckedContinuation { disconnectWaiters.append($0) }
    }
}
