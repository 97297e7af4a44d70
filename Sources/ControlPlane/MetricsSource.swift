import NIOCore

/// Renders the Prometheus text exposition for `GET /metrics`. The renderer
/// gathers the media engines' counters on their own loops and answers on
/// `eventLoop` (the HTTP connection's), so no handler blocks a loop.
public protocol MetricsSource: Sendable {
    /// The exposition (text format 0.0.4) as of now.
    func exposition(on eventLoop: any EventLoop) -> EventLoopFuture<[UInt8]>
}

/// The Content-Type of the Prometheus text format.
public let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"
