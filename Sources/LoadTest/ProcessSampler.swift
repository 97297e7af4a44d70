import Foundation

/// CPU time and resident memory of a process, from Linux procfs
/// (proc(5): /proc/PID/stat fields 14–15, /proc/PID/status VmRSS).
public struct ProcessSample: Equatable, Sendable {
    /// User plus system CPU time, in clock ticks.
    public var cpuTicks: UInt64
    /// Resident set size in bytes.
    public var residentBytes: UInt64

    /// Creates a sample.
    public init(cpuTicks: UInt64, residentBytes: UInt64) {
        self.cpuTicks = cpuTicks
        self.residentBytes = residentBytes
    }

    /// utime + stime from the text of /proc/PID/stat. The command name
    /// (field 2) is in parentheses and may hold spaces, so fields are
    /// counted from the last ')'.
    public static func cpuTicks(stat: String) -> UInt64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 12, let u = UInt64(fields[11]), let s = UInt64(fields[12]) else { return nil }
        return u + s
    }

    /// VmRSS in bytes from the text of /proc/PID/status.
    public static func residentBytes(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kb = UInt64(parts[1]) else { return nil }
            return kb * 1_024
        }
        return nil
    }

    /// Reads process `pid` ("self" for this process); nil when it is gone.
    public static func read(pid: String) -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let ticks = cpuTicks(stat: stat), let rss = residentBytes(status: status) else { return nil }
        return ProcessSample(cpuTicks: ticks, residentBytes: rss)
    }

    /// Clock ticks per second (sysconf(_SC_CLK_TCK), 100 on Linux).
    public static let ticksPerSecond: Double = {
        let t = sysconf(Int32(_SC_CLK_TCK))
        return t > 0 ? Double(t) : 100
    }()

    /// CPU use between two samples `seconds` apart, in percent of one core.
    public static func cpuPercent(from a: ProcessSample, to b: ProcessSample, seconds: Double) -> Double {
        guard seconds > 0, b.cpuTicks >= a.cpuTicks else { return 0 }
        return 100 * Double(b.cpuTicks - a.cpuTicks) / ticksPerSecond / seconds
    }
}

/// Whole-machine CPU time from the first line of /proc/stat (proc(5)), to
/// see processes other than the server and the harness competing for CPU.
public struct MachineSample: Equatable, Sendable {
    /// All jiffies of all CPUs.
    public var total: UInt64
    /// Jiffies not idle and not waiting for I/O.
    public var busy: UInt64

    /// Creates a sample.
    public init(total: UInt64, busy: UInt64) {
        self.total = total
        self.busy = busy
    }

    /// Parses "cpu  user nice system idle iowait irq softirq steal ...".
    public init?(stat: String) {
        guard let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard v.count >= 5 else { return nil }
        let counted = v.prefix(8)  // guest time is already inside user
        total = counted.reduce(0, +)
        busy = total - v[3] - v[4]
    }

    /// Reads /proc/stat.
    public static func read() -> MachineSample? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap { MachineSample(stat: $0) }
    }

    /// Busy CPU between two samples, in percent of one core (up to cores × 100).
    public static func busyPercent(from a: MachineSample, to b: MachineSample, cores: Int) -> Double {
        guard b.total > a.total, b.busy >= a.busy else { return 0 }
        return 100 * Double(cores) * Double(b.busy - a.busy) / Double(b.total - a.total)
    }
}
