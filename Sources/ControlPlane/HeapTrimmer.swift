#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore

/// Gives memory freed by closed connections back to the system.
///
/// glibc's malloc keeps freed memory in its per-thread arenas: after thousands of
/// connections close (an attacker's), RSS stays where it peaked, measured at
/// +30 MiB for 3,000 half-open requests (Tests/e2e/test_hostile_connections.py).
/// `malloc_trim(0)` returns the free pages of every arena. It walks the heap, so
/// it runs at most once a second, a second after a burst of closes.
final class HeapTrimmer: Sendable {
    /// Closes since the last trim that make a trim worth its cost.
    static let closesPerTrim = 64
    private struct State {
        var closes = 0
        var scheduled = false
    }
    private let state = NIOLockedValueBox(State())

    /// Counts a closed connection; `large` (one that held a full outbound buffer) counts as many.
    func connectionClosed(large: Bool, on loop: any EventLoop) {
        let schedule = state.withLockedValue { s -> Bool in
            s.closes += large ? Self.closesPerTrim : 1
            guard s.closes >= Self.closesPerTrim, !s.scheduled else { return false }
            s.scheduled = true
            return true
        }
        guard schedule else { return }
        loop.scheduleTask(in: .seconds(1)) { [state] in
            state.withLockedValue { s in
                s.closes = 0
                s.scheduled = false
            }
            Self.trim()
        }
    }

    /// glibc's `malloc_trim`, which Swift's Glibc module does not export (it lives in
    /// <malloc.h>); nil on other C libraries.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }  // nil: RTLD_DEFAULT
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    static func trim() {
        _ = mallocTrim?(0)
    }
}
