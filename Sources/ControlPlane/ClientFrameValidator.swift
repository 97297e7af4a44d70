import NIOCore
import NIOWebSocket

/// Checks each frame as it comes off the wire, before NIOWebSocketFrameAggregator
/// joins fragments (the joined frame no longer shows the mask or reserved bits).
final class ClientFrameValidator: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    /// A frame that breaks a MUST of RFC 6455 before any message handling.
    enum Violation: Error, Equatable {
        /// §5.1: the server MUST close on an unmasked client frame.
        case unmasked
        /// §5.2: a reserved bit set without a negotiated extension.
        case reservedBit
    }

    private var failed = false
    /// The connection's input budget: every message costs extra.
    private let pacer: InputPacer?

    init(pacer: InputPacer? = nil) { self.pacer = pacer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let frame = unwrapInboundIn(data)
        let violation: Violation? = frame.maskKey == nil ? .unmasked : (frame.rsv1 || frame.rsv2 || frame.rsv3) ? .reservedBit : nil
        if let violation {
            failed = true
            context.fireErrorCaught(violation)
            return
        }
        if frame.fin { pacer?.chargeMessage() }
        context.fireChannelRead(data)
    }
}
