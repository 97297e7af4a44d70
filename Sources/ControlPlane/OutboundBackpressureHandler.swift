import NIOCore

/// First in every control-plane pipeline: bounds what a peer that does not read can
/// make the server hold for it.
///
/// - While the channel is not writable (buffered outbound bytes went above the
///   high-water mark and have not yet fallen below the low one) it holds back
///   `read()`, so no more requests are parsed and answered.
/// - A write that finds more than `maxBufferedBytes` still unsent closes the
///   connection instead of queueing: bytes already read can still produce replies
///   (a WebSocket error per bad frame), and those must not pile up.
/// - A channel that stays unwritable for `stallTimeout` is closed.
///
/// Runs on the channel's event loop.
final class OutboundBackpressureHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = IOData

    private let maxBufferedBytes: Int
    private let stallTimeout: TimeAmount
    /// Told once, when this handler closes the connection.
    private let onDrop: (ConnectionRefusal) -> Void
    private var readPending = false
    private var stallTimer: Scheduled<Void>?
    private var dropped = false

    init(maxBufferedBytes: Int, stallTimeout: TimeAmount, onDrop: @escaping (ConnectionRefusal) -> Void = { _ in }) {
        self.maxBufferedBytes = maxBufferedBytes
        self.stallTimeout = stallTimeout
        self.onDrop = onDrop
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
            if readPending {
                readPending = false
                context.read()
            }
        } else if stallTimer == nil {
            stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: stallTimeout) { [self] in
                stallTimer = nil
                if !context.channel.isWritable { drop(context: context, .outboundStalled) }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !dropped else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let buffered = (try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
        guard buffered <= maxBufferedBytes else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            drop(context: context, .outboundOverflow)
            return
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stallTimer?.cancel()
        stallTimer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stallTimer?.cancel()
        stallTimer = nil
    }

    private func drop(context: ChannelHandlerContext, _ reason: ConnectionRefusal) {
        guard !dropped else { return }
        dropped = true
        onDrop(reason)
        // Closing discards the queued writes and frees their buffers at once.
        context.close(promise: nil)
    }
}
