import NIOCore

/// How much one connection may make the server read: bytes at once, then per
/// second; each WebSocket message costs `messageCost` bytes more.
public struct InputBudget: Sendable, Equatable {
    /// Bytes at once: room for the largest message (a join with a 64 KiB offer) and then some.
    public var burstBytes: Int = 256 * 1024
    /// Bytes per second after that.
    public var bytesPerSecond: Int = 64 * 1024
    /// Extra bytes each WebSocket message costs, whatever its size: at most
    /// about 60 messages a second once the burst is spent.
    public var messageCost: Int = 1024

    /// The defaults.
    public init() {}
}

/// Paces what one TCP connection may make the server read and parse: a
/// budget of bytes, refilled over time, that every byte read spends and
/// every WebSocket message spends `messageCost` more of (a 1-byte message
/// costs the server as much work as a kilobyte). While the budget is spent,
/// the pacer holds back `read()`, so the kernel's receive buffer fills and
/// TCP flow control slows the sender down: a flooding client costs no CPU
/// beyond its budget, and the event loops it shares with media stay free.
///
/// First in the pipeline, so it sees the raw bytes of HTTP and WebSocket
/// alike. Not thread-safe: the channel's loop only.
final class InputPacer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private let budget: InputBudget
    private var tokens: Double
    private var refilledAt: NIODeadline?
    /// A `read()` held back, and the timer that lets it through.
    private var heldRead = false
    private var resume: Scheduled<Void>?
    /// Times reading was held back, for tests and logs.
    private(set) var pauses = 0

    init(budget: InputBudget = InputBudget()) {
        self.budget = budget
        self.tokens = Double(budget.burstBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        tokens -= Double(unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    /// A WebSocket message arrived (called by `ClientFrameValidator`).
    func chargeMessage() { tokens -= Double(budget.messageCost) }

    func read(context: ChannelHandlerContext) {
        refill(now: context.eventLoop.now)
        guard tokens < 0 else {
            context.read()
            return
        }
        guard !heldRead else { return }
        heldRead = true
        pauses += 1
        let wait = TimeAmount.nanoseconds(Int64((-tokens / Double(budget.bytesPerSecond) * 1e9).rounded(.up)) + 1_000_000)
        resume = context.eventLoop.scheduleTask(in: wait) { [weak self, context] in
            guard let self, self.heldRead else { return }
            self.heldRead = false
            self.resume = nil
            self.read(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        resume?.cancel()
        resume = nil
        context.fireChannelInactive()
    }

    private func refill(now: NIODeadline) {
        if let refilledAt, now > refilledAt {
            let seconds = Double((now - refilledAt).nanoseconds) / 1e9
            tokens = min(Double(budget.burstBytes), tokens + seconds * Double(budget.bytesPerSecond))
        }
        if refilledAt.map({ now > $0 }) ?? true { refilledAt = now }
    }
}
