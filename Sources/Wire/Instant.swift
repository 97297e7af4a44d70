/// A point in monotonic time, in nanoseconds from an arbitrary origin.
///
/// Engine types never read a clock: the transport (or a test's manual clock)
/// passes `now` in, and engines return their next deadline as an `Instant`.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    /// Creates an instant `nanoseconds` after the origin.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The origin of the clock.
    public static let zero = Instant(nanoseconds: 0)

    /// An instant `ms` milliseconds after the origin.
    public static func milliseconds(_ ms: UInt64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }

    /// Milliseconds since the origin.
    public var milliseconds: UInt64 { nanoseconds / 1_000_000 }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// This instant moved forward by `d`.
    public static func + (a: Instant, d: TimeSpan) -> Instant {
        Instant(nanoseconds: d.nanoseconds >= 0 ? a.nanoseconds &+ UInt64(d.nanoseconds)
                                                : a.nanoseconds &- UInt64(-d.nanoseconds))
    }

    /// The span from `b` to `a` (negative when `a` is earlier).
    public static func - (a: Instant, b: Instant) -> TimeSpan {
        TimeSpan(nanoseconds: Int64(bitPattern: a.nanoseconds &- b.nanoseconds))
    }

    public var description: String { "t+\(Double(nanoseconds) / 1e9)s" }
}

/// A signed length of time in nanoseconds.
public struct TimeSpan: Comparable, Hashable, Sendable {
    /// Length in nanoseconds.
    public var nanoseconds: Int64

    /// Creates a span of `nanoseconds`.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// A span of `ms` milliseconds.
    public static func milliseconds(_ ms: Int64) -> TimeSpan { TimeSpan(nanoseconds: ms * 1_000_000) }
    /// A span of `s` seconds.
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(nanoseconds: s * 1_000_000_000) }
    /// A span of `us` microseconds.
    public static func microseconds(_ us: Int64) -> TimeSpan { TimeSpan(nanoseconds: us * 1_000) }

    /// The span in (fractional) seconds.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    /// The span in whole milliseconds, rounded toward zero.
    public var milliseconds: Int64 { nanoseconds / 1_000_000 }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(nanoseconds: a.nanoseconds + b.nanoseconds) }
    public static func - (a: TimeSpan, b: TimeSpan) -> TimeSpan { TimeSpan(nanoseconds: a.nanoseconds - b.nanoseconds) }
    public static func / (a: TimeSpan, k: Int64) -> TimeSpan { TimeSpan(nanoseconds: a.nanoseconds / k) }
    public static func * (a: TimeSpan, k: Int64) -> TimeSpan { TimeSpan(nanoseconds: a.nanoseconds * k) }
}
