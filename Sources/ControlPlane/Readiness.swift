import NIOConcurrencyHelpers

/// Whether this server should get new participants (`GET /readyz`), as
/// opposed to whether it is alive (`GET /healthz`, always 200 while the
/// process answers). A load balancer or orchestrator sends joins only to a
/// ready server, and stops the moment shutdown starts draining it.
///
/// Ready means: the media sockets are bound, the records store (when
/// records are on) is open, and the server is not draining. Thread-safe;
/// the start-up and shutdown code flip it from any thread.
public final class Readiness: Sendable {
    private struct State {
        var mediaBound = false
        var recordsRequired = false
        var recordsOpen = false
        var draining = false
    }
    private let state = NIOLockedValueBox(State())

    /// Creates a readiness that is not ready: nothing is bound yet.
    /// - Parameter recordsRequired: whether records are on, so an open store is needed.
    public init(recordsRequired: Bool) {
        state.withLockedValue { $0.recordsRequired = recordsRequired }
    }

    /// The media sockets are bound.
    public func mediaBound() { state.withLockedValue { $0.mediaBound = true } }

    /// The records store opened (`true`) or closed (`false`).
    public func recordsOpen(_ open: Bool) { state.withLockedValue { $0.recordsOpen = open } }

    /// Shutdown began: take no new participants. There is no way back.
    public func drain() { state.withLockedValue { $0.draining = true } }

    /// Nil when ready, else why not, in a few words for the operator.
    public var notReadyReason: String? {
        state.withLockedValue { s in
            if s.draining { return "draining: the server is shutting down" }
            if !s.mediaBound { return "media sockets not bound yet" }
            if s.recordsRequired && !s.recordsOpen { return "records store not open" }
            return nil
        }
    }
}
