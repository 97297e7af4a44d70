import Wire

/// A clock that moves only when a test says so: engines are driven faster
/// than real time and deterministically.
public final class ManualClock: @unchecked Sendable {
    /// The current time.
    public private(set) var now: Instant

    /// Starts at `start` (1 s after the origin by default, so that "zero" is never a valid reading).
    public init(start: Instant = .milliseconds(1_000)) { self.now = start }

    /// Moves the clock forward by `span`.
    public func advance(by span: TimeSpan) {
        precondition(span.nanoseconds >= 0, "a manual clock only moves forward")
        now = now + span
    }

    /// Moves the clock to `instant` if that is later than now.
    public func advance(to instant: Instant) {
        if instant > now { now = instant }
    }
}
