#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// The process's open-file limit (RLIMIT_NOFILE) against `--max-connections`.
enum FileLimit {
    /// Descriptors kept free beyond the connections: media sockets, files, the event loops.
    static let reserve = 256

    /// Raises the soft limit up to the hard one when `room` connections would not fit,
    /// and warns when even that is too low: at the limit, accept fails and
    /// /healthz goes silent instead of extra connections being refused.
    #if os(Linux)
    private static let resource = Int32(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif

    static func ensure(room connections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return }
        let needed = rlim_t(connections + reserve)
        if limit.rlim_cur < needed, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = min(needed, limit.rlim_max)
            _ = setrlimit(resource, &limit)
            _ = getrlimit(resource, &limit)
        }
        if limit.rlim_cur < needed {
            logger.warning("open-file limit below --max-connections", metadata: [
                "limit": "\(limit.rlim_cur)", "max-connections": "\(connections)", "needed": "\(needed)"])
        }
    }
}
