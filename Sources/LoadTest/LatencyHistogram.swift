import Histogram
import Wire

/// A histogram of durations in microseconds (1 µs to 100 s, three
/// significant digits), backed by HdrHistogram.
public struct LatencyHistogram: Sendable {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000,
                                              numberOfSignificantValueDigits: .three)

    /// Creates an empty histogram.
    public init() {}

    /// Records one duration; negative ones count as zero, huge ones are clamped.
    public mutating func record(_ span: TimeSpan) {
        let us = UInt64(max(0, min(span.nanoseconds / 1_000, 100_000_000)))
        _ = histogram.record(us)
    }

    /// Adds every value of `other`.
    public mutating func merge(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    /// Forgets everything (for per-interval histograms).
    public mutating func reset() { histogram.reset() }

    /// Values recorded.
    public var count: Int { Int(histogram.totalCount) }

    /// The value at `percentile` (0...100) in milliseconds; 0 when empty.
    public func milliseconds(atPercentile percentile: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1_000
    }

    /// The summary the report prints.
    public var summary: PercentileSummary {
        guard count > 0 else { return PercentileSummary() }
        return PercentileSummary(count: count, min: Double(histogram.min) / 1_000,
                                 p50: milliseconds(atPercentile: 50), p90: milliseconds(atPercentile: 90),
                                 p95: milliseconds(atPercentile: 95), p99: milliseconds(atPercentile: 99),
                                 p999: milliseconds(atPercentile: 99.9), max: Double(histogram.max) / 1_000,
                                 mean: histogram.mean / 1_000)
    }

    /// (value in ms, cumulative percentile) points for a distribution chart.
    public var distribution: [(ms: Double, percentile: Double)] {
        guard count > 0 else { return [] }
        return histogram.percentiles(ticksPerHalfDistance: 5).map { (Double($0.value) / 1_000, $0.percentile) }
    }
}

/// Percentiles of a duration distribution, in milliseconds.
public struct PercentileSummary: Codable, Equatable, Sendable {
    /// Values recorded.
    public var count = 0
    /// Smallest.
    public var min = 0.0
    /// Median.
    public var p50 = 0.0
    /// 90th percentile.
    public var p90 = 0.0
    /// 95th percentile.
    public var p95 = 0.0
    /// 99th percentile.
    public var p99 = 0.0
    /// 99.9th percentile.
    public var p999 = 0.0
    /// Largest.
    public var max = 0.0
    /// Arithmetic mean.
    public var mean = 0.0

    /// Creates a summary.
    public init(count: Int = 0, min: Double = 0, p50: Double = 0, p90: Double = 0, p95: Double = 0, p99: Double = 0,
                p999: Double = 0, max: Double = 0, mean: Double = 0) {
        self.count = count
        self.min = min
        self.p50 = p50
        self.p90 = p90
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }
}
