import Logging
import NIOCore
import NIOWebSocket
import SFU

/// The `/ws` connection: RFC 6455 framing rules and the closing handshake around a
/// `SignalingStateMachine`. Runs entirely on the channel's event loop; delegate calls
/// run in tasks and their results hop back here through `assumeIsolated()`.
final class WebSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = ServerMessage
    typealias OutboundOut = WebSocketFrame

    private var machine: SignalingStateMachine
    private let delegate: any SignalingDelegate
    private let settings: ControlPlaneConfiguration
    private var logger: Logger
    private var context: ChannelHandlerContext?
    /// Kept after the handler is removed: a delegate result may still arrive then.
    private var eventLoop: (any EventLoop)?
    private var connection: ClientConnection?
    /// RFC 6455 §5.5.1: after sending Close we send no more data frames.
    private var closeSent = false
    private var joinDeadline: Scheduled<Void>?
    private var closeDeadline: Scheduled<Void>?
    /// Session commands not yet handed to the delegate, oldest first. One
    /// is in flight at a time, so a connection's commands reach the
    /// session's ordered queue in the order they arrived (ARCHITECTURE.md,
    /// "Session"): "move A, move B" never applies as B, A.
    /// A request waiting for its turn: a session command or an ICE restart,
    /// answered in the order the client sent them.
    private enum QueuedRequest {
        case command(SessionCommand)
        case iceRestart(offer: String)
    }
    private var queuedCommands: [(requestID: String, participantId: String, request: QueuedRequest)] = []
    private var commandInFlight = false
    /// A close the delegate asked for while a command was in flight (a host's
    /// `end-session` removes the host too): it waits for that command's reply,
    /// so the client gets `ok` before `left` (docs/PROTOCOL.md).
    private var deferredClose: CloseRequest?
    /// Commands a connection may have waiting; one more is refused with `busy`.
    static let maxQueuedCommands = 32
    /// Counts this connection among the WebSockets waiting to join, until it joins or closes.
    private let limiter: ConnectionLimiter?
    private var countedAsPendingJoin = false

    init(machine: SignalingStateMachine, delegate: any SignalingDelegate, settings: ControlPlaneConfiguration, logger: Logger,
         limiter: ConnectionLimiter? = nil) {
        self.machine = machine
        self.delegate = delegate
        self.settings = settings
        self.logger = logger
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.eventLoop = context.eventLoop
        let connection = ClientConnection(channel: context.channel)
        self.connection = connection
        logger[metadataKey: "conn"] = "\(String(connection.id, radix: 16))"
        logger.debug("websocket open", metadata: ["remote": "\(connection.remoteAddress.map { "\($0)" } ?? "?")"])
        if let limiter {
            if let refusal = limiter.startPendingJoin(from: connection.remoteAddress) {
                // RFC 6455 §7.4.1 registry: 1013 Try Again Later.
                return startClose(WebSocketErrorCode(codeNumber: 1013), after: .error(ErrorReply(
                    code: .busy, message: "too many connections are waiting to join (\(refusal.rawValue)); try again later")))
            }
            countedAsPendingJoin = true
        }
        joinDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: settings.joinTimeout) { [self] in
            perform(machine.joinDeadlinePassed())
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        endPendingJoin()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        endPendingJoin()
        perform(machine.connectionClosing())
        logger.debug("websocket closed")
        context.fireChannelInactive()
    }

    // MARK: inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Frames decoded from a read after the connection was dropped (outbound cap): no more work.
        guard context.channel.isActive else { return }
        // Masking and reserved bits were checked by ClientFrameValidator before fragments were joined.
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            guard !closeSent else { return }
            var payload = frame.unmaskedData
            let bytes = payload.readBytes(length: payload.readableBytes) ?? []
            // §8.1: a text frame that is not UTF-8 fails the connection with 1007.
            guard String(validating: bytes, as: UTF8.self) != nil else {
                return failConnection(.dataInconsistentWithMessage, "text frame is not UTF-8")
            }
            perform(machine.receiveText(bytes, now: settings.now()))
        case .binary:
            guard !closeSent else { return }
            // §7.4.1 1003: data of a type the endpoint cannot accept.
            startClose(.unacceptableData, after: .error(ErrorReply(code: .badMessage, message: "binary frames are not accepted; send JSON text")))
        case .ping:
            // §5.5.2/§5.5.3: answer with a Pong carrying the same application data.
            guard !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            break  // §5.5.3: an unsolicited Pong needs no answer.
        case .connectionClose:
            receiveClose(frame)
        default:
            // Continuations are joined by NIOWebSocketFrameAggregator; anything else is a reserved opcode (§5.2).
            failConnection(.protocolError, "unexpected opcode \(frame.opcode)")
        }
    }

    /// §5.5.1 and §7.1.1: answer a Close with a Close, then the server closes TCP first.
    private func receiveClose(_ frame: WebSocketFrame) {
        guard let context else { return }
        if closeSent {
            context.close(promise: nil)
            return
        }
        var payload = frame.unmaskedData
        var reply = context.channel.allocator.buffer(capacity: 2)
        switch payload.readableBytes {
        case 0:
            break  // §7.1.5: no status code; reply with an empty Close.
        case 1:
            return failConnection(.protocolError, "close payload of one byte")
        default:
            let code = payload.readInteger(as: UInt16.self)!
            guard Self.isValidReceivedCloseCode(code) else { return failConnection(.protocolError, "close code \(code)") }
            guard String(validating: payload.readableBytesView, as: UTF8.self) != nil else {
                return failConnection(.dataInconsistentWithMessage, "close reason is not UTF-8")
            }
            reply.writeInteger(code)
        }
        closeSent = true
        perform(machine.connectionClosing())
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)
        context.writeAndFlush(wrapOutboundOut(frame)).assumeIsolated().whenComplete { [self] _ in
            self.context?.close(promise: nil)
        }
    }

    /// §7.4.1/§7.4.2: codes a peer may send; 1004-1006 and 1015 must never appear on the wire.
    static func isValidReceivedCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    // MARK: outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let message = unwrapOutboundIn(data)
        guard !closeSent else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(wrapOutboundOut(textFrame(message, allocator: context.channel.allocator)), promise: promise)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? CloseRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if commandInFlight {
            deferredClose = request
        } else {
            startClose(request.code, after: request.message)
        }
        promise?.succeed(())
    }

    private func textFrame(_ message: ServerMessage, allocator: ByteBufferAllocator) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, data: allocator.buffer(bytes: MessageCodec.encode(message)))
    }

    private func send(_ message: ServerMessage) {
        guard let context, !closeSent else { return }
        context.writeAndFlush(wrapOutboundOut(textFrame(message, allocator: context.channel.allocator)), promise: nil)
    }

    /// §7.1.2: start the closing handshake and wait for the peer's Close, at most `closeTimeout`.
    private func startClose(_ code: WebSocketErrorCode, after message: ServerMessage? = nil) {
        guard let context, !closeSent else { return }
        if let message { send(message) }
        closeSent = true
        cancelTimers()
        perform(machine.connectionClosing())
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        closeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: settings.closeTimeout) { [self] in
            self.context?.close(promise: nil)
        }
    }

    /// §7.1.7 "Fail the WebSocket Connection": send Close with the code and drop TCP
    /// without waiting, since the byte stream can no longer be trusted.
    private func failConnection(_ code: WebSocketErrorCode, _ reason: String) {
        guard let context else { return }
        logger.info("failing websocket", metadata: ["reason": "\(reason)", "code": "\(UInt16(webSocketErrorCode: code))"])
        perform(machine.connectionClosing())
        guard !closeSent else {
            context.close(promise: nil)
            return
        }
        closeSent = true
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .assumeIsolated().whenComplete { [self] _ in self.context?.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength, NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            failConnection(.messageTooLarge, "message larger than \(settings.maxMessageSize) bytes")
        case is NIOWebSocketError, is NIOWebSocketFrameAggregator.Error, is ClientFrameValidator.Violation:
            failConnection(.protocolError, "\(error)")
        default:
            logger.debug("websocket error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: actions

    private func perform(_ action: SignalingStateMachine.Action) {
        guard let eventLoop, let connection else { return }
        switch action {
        case .none:
            break
        case .send(let message):
            send(message)
        case .sendAndClose(let message, let code):
            if case .error(let reply) = message {
                logger.info("closing after error", metadata: ["code": "\(reply.code)", "detail": "\(reply.message)"])
            }
            startClose(code, after: message)
        case .startJoin(let join):
            logger.info("join", metadata: ["session": "\(join.claims.session)", "room": "\(join.claims.room)",
                                           "role": "\(join.claims.role.rawValue)"])
            let delegate = self.delegate
            eventLoop.makeFutureWithTask { () async -> Result<JoinResult, SignalingError> in
                do throws(SignalingError) {
                    return .success(try await delegate.join(join, connection: connection))
                } catch {
                    return .failure(error)
                }
            }.assumeIsolated().whenSuccess { [self] result in
                if case .success = result {
                    joinDeadline?.cancel()
                    endPendingJoin()
                }
                perform(machine.joinCompleted(result))
            }
        case .startResume(let resume):
            // Never the token: it is a secret (docs/PROTOCOL.md).
            logger.info("resume", metadata: ["participant": "\(resume.participantId)"])
            let delegate = self.delegate
            eventLoop.makeFutureWithTask { () async -> Result<ResumeResult, SignalingError> in
                do throws(SignalingError) {
                    return .success(try await delegate.resume(resume, connection: connection))
                } catch {
                    return .failure(error)
                }
            }.assumeIsolated().whenSuccess { [self] result in
                switch result {
                case .success:
                    joinDeadline?.cancel()
                    endPendingJoin()
                case .failure(let e):
                    logger.info("resume refused", metadata: ["code": "\(e.code)"])
                }
                perform(machine.resumeCompleted(result))
            }
        case .startLeave(_, let participantId):
            let delegate = self.delegate
            eventLoop.makeFutureWithTask {
                await delegate.leave(participantId: participantId, connection: connection)
            }.assumeIsolated().whenSuccess { [self] in
                perform(machine.leaveCompleted())
            }
        case .startCommand(let requestID, let participantId, let command):
            guard queuedCommands.count < Self.maxQueuedCommands else {
                send(.error(ErrorReply(id: requestID, code: .busy,
                                       message: "more than \(Self.maxQueuedCommands) commands are waiting")))
                return
            }
            queuedCommands.append((requestID, participantId, .command(command)))
            startNextCommand()
        case .startIceRestart(let requestID, let participantId, let offer):
            guard queuedCommands.count < Self.maxQueuedCommands else {
                send(.error(ErrorReply(id: requestID, code: .busy,
                                       message: "more than \(Self.maxQueuedCommands) commands are waiting")))
                return
            }
            queuedCommands.append((requestID, participantId, .iceRestart(offer: offer)))
            startNextCommand()
        case .notifyDisconnected(let participantId):
            let delegate = self.delegate
            Task { await delegate.disconnected(participantId: participantId, connection: connection) }
        }
    }

    /// Hands the oldest queued command to the delegate unless one is in flight;
    /// its reply goes out before the next command starts.
    private func startNextCommand() {
        guard !commandInFlight, !queuedCommands.isEmpty, let eventLoop, let connection else { return }
        let (requestID, participantId, request) = queuedCommands.removeFirst()
        commandInFlight = true
        let delegate = self.delegate
        eventLoop.makeFutureWithTask { () async -> ServerMessage in
            do throws(SignalingError) {
                switch request {
                case .command(let command):
                    try await delegate.command(command, participantId: participantId, connection: connection)
                    return .ok(OkReply(id: requestID))
                case .iceRestart(let offer):
                    let answer = try await delegate.restartICE(offer: offer, participantId: participantId,
                                                               connection: connection)
                    return .iceRestarted(IceRestarted(id: requestID, sdp: answer))
                }
            } catch {
                return .error(ErrorReply(id: requestID, code: error.code, message: error.message))
            }
        }.assumeIsolated().whenSuccess { [self] reply in
            commandInFlight = false
            send(reply)
            if let close = deferredClose {
                deferredClose = nil
                queuedCommands.removeAll()
                startClose(close.code, after: close.message)
                return
            }
            startNextCommand()
        }
    }

    private func endPendingJoin() {
        guard countedAsPendingJoin else { return }
        countedAsPendingJoin = false
        limiter?.endPendingJoin(from: connection?.remoteAddress)
    }

    private func cancelTimers() {
        joinDeadline?.cancel()
        joinDeadline = nil
        closeDeadline?.cancel()
        closeDeadline = nil
    }
}
