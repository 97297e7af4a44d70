#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The process's CPU time and resident memory, read at scrape time:
/// `getrusage(RUSAGE_SELF)` for user plus system CPU (microsecond
/// resolution, all threads), and `/proc/self/statm`'s resident pages on
/// Linux (current, not peak; elsewhere the peak from getrusage).
public struct ProcessUsage: Sendable, Equatable {
    /// User plus system CPU seconds since the process started.
    public var cpuSeconds: Double
    /// Resident set size in bytes.
    public var residentBytes: Int

    /// Creates a reading.
    public init(cpuSeconds: Double, residentBytes: Int) {
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
    }

    /// Reads both now.
    public static func current() -> ProcessUsage {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        #if os(Linux)
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        if let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
           let resident = residentPages(statm: text) {
            return ProcessUsage(cpuSeconds: cpu, residentBytes: resident * pageSize)
        }
        return ProcessUsage(cpuSeconds: cpu, residentBytes: Int(usage.ru_maxrss) * 1_024)
        #else
        return ProcessUsage(cpuSeconds: cpu, residentBytes: Int(usage.ru_maxrss))
        #endif
    }

    /// The second field of `/proc/self/statm` (proc(5)): resident pages.
    static func residentPages(statm: String) -> Int? {
        let fields = statm.split(separator: " ")
        guard fields.count >= 2 else { return nil }
        return Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// This thread's CPU time in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): the
/// engines' stopwatch for the mixers' CPU time (`EngineConfiguration.cpuClock`).
@Sendable public func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
