import NIOCore
import NIOEmbedded
import NIOWebSocket
import Tokens

/// Fuzz entry points for what a WebSocket client sends: raw bytes through
/// NIO's frame decoder and our frame checks, and message text through the
/// signalling state machine. Must never trap, whatever the input holds.
public enum ControlPlaneFuzz {
    private static let signer = TokenSigner(secret: "fuzz-secret-fuzz-secret-fuzz-secret!")
    private static let now: Int64 = 1_700_000_000
    /// A valid token, so that joins get past verification into the checks after it.
    private static let token = signer.mint(TokenClaims(session: "s", name: "Fuzz", role: .host,
                                                       expiresAt: now + 60, issuedAt: now))

    /// `data` as one message to a fresh connection, to one that has joined,
    /// and as a join carrying it as name and offer.
    public static func message(_ data: [UInt8]) {
        var fresh = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = fresh.receiveText(data, now: now)
        var joined = SignalingStateMachine(signer: signer, requiredSessions: ["s"])
        let join = #"{"type":"join","id":"j","token":"\#(token)","sdp":"v=0"}"#
        if case .startJoin = joined.receiveText(Array(join.utf8), now: now) {
            _ = joined.joinCompleted(.success(JoinResult(participantId: "p", room: "main", answer: "a", slots: [:], roster: [])))
        }
        _ = joined.receiveText(data, now: now)
        let text = String(decoding: data, as: UTF8.self)
        let wrapped = MessageCodec.encode(.join(JoinRequest(id: "j", token: token, name: text, sdp: text)))
        var joining = SignalingStateMachine(signer: signer, requiredSessions: [])
        _ = joining.receiveText(wrapped, now: now)
    }

    /// `data` as the bytes a client sends after the upgrade, through the
    /// decoder, frame checks and aggregator the server uses.
    public static func webSocket(_ data: [UInt8]) {
        let channel = EmbeddedChannel()
        let sync = channel.pipeline.syncOperations
        do {
            try sync.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 64 * 1024)))
            try sync.addHandler(ClientFrameValidator())
            try sync.addHandler(NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 256,
                                                            maxAccumulatedFrameSize: 64 * 1024))
            var buffer = channel.allocator.buffer(capacity: data.count)
            buffer.writeBytes(data)
            try channel.writeInbound(buffer)
            while let frame = try channel.readInbound(as: WebSocketFrame.self) {
                if frame.opcode == .text { message(Array(frame.unmaskedData.readableBytesView)) }
            }
        } catch {
            // Refused input is the expected outcome of most inputs.
        }
        _ = try? channel.finish()
    }
}
