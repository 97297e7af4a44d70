import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for SIGINT or SIGTERM, for graceful shutdown.
enum TerminationSignal {
    /// Confined to `queue`: the sources and whether the continuation was resumed.
    private final class Waiter: @unchecked Sendable {
        var sources: [any DispatchSourceSignal] = []
        var continuation: CheckedContinuation<Int32, Never>?
    }

    /// Returns the number of the first of SIGINT or SIGTERM to arrive.
    static func wait() async -> Int32 {
        let queue = DispatchQueue(label: "cohort.signals")
        let waiter = Waiter()
        return await withCheckedContinuation { continuation in
            queue.sync {
                waiter.continuation = continuation
                for number in [SIGINT, SIGTERM] {
                    // The default action would kill the process before we can close sockets.
                    signal(number, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                    source.setEventHandler {
                        waiter.sources.forEach { $0.cancel() }
                        // A second Ctrl-C during a slow shutdown kills at once.
                        signal(SIGINT, SIG_DFL)
                        signal(SIGTERM, SIG_DFL)
                        waiter.continuation?.resume(returning: number)
                        waiter.continuation = nil
                    }
                    source.resume()
                    waiter.sources.append(source)
                }
            }
        }
    }
}
