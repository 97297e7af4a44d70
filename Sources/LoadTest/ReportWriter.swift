import Foundation

/// Writes report.json, report.md and the SVG charts into a results directory.
public enum ReportWriter {
    /// The directory `loadtest/results/<date>-<scenario>` under `root`.
    public static func directory(root: String, scenario: String, date: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "\(root)/\(f.string(from: date))-\(scenario)"
    }

    /// The charts: latency distribution, latency over time, packets per second, CPU over time.
    public static func charts(report: LoadTestReport, statistics: RunStatistics) -> [String: String] {
        let latency = SVGChart(
            title: "One-way latency distribution", xLabel: "percentile", yLabel: "latency (ms)",
            series: [
                .init(name: "audio", color: "#1f77b4", points: statistics.audioLatency.distribution.map { ($0.percentile, $0.ms) }),
                .init(name: "video", color: "#d62728", points: statistics.videoLatency.distribution.map { ($0.percentile, $0.ms) }),
            ], xScale: .percentileTail)
        let ts = report.timeSeries
        let packets = SVGChart(
            title: "RTP packets per second", xLabel: "time (s)", yLabel: "packets/s",
            series: [
                .init(name: "sent by harness", color: "#2ca02c", points: ts.map { ($0.t, $0.packetsOutPerSecond) }),
                .init(name: "received by harness", color: "#9467bd", points: ts.map { ($0.t, $0.packetsInPerSecond) }),
            ])
        var cpuSeries: [SVGChart.Series] = [
            .init(name: "harness CPU %", color: "#ff7f0e", points: ts.map { ($0.t, $0.harnessCPUPercent) })]
        if ts.contains(where: { $0.serverCPUPercent != nil }) {
            cpuSeries.insert(.init(name: "server CPU %", color: "#1f77b4",
                                   points: ts.compactMap { s in s.serverCPUPercent.map { (s.t, $0) } }), at: 0)
        }
        if ts.contains(where: { $0.machineCPUPercent != nil }) {
            cpuSeries.append(.init(name: "whole machine CPU %", color: "#7f7f7f",
                                   points: ts.compactMap { s in s.machineCPUPercent.map { (s.t, $0) } }))
        }
        let cpu = SVGChart(title: "CPU over time (100 % = one core)", xLabel: "time (s)", yLabel: "CPU %", series: cpuSeries)
        let overTime = SVGChart(
            title: "Latency and send lateness over time", xLabel: "time (s)", yLabel: "ms",
            series: [
                .init(name: "p95 one-way latency", color: "#d62728", points: ts.map { ($0.t, $0.latencyP95Ms) }),
                .init(name: "p99 harness send lateness", color: "#8c564b", points: ts.map { ($0.t, $0.pacingP99Ms) }),
            ])
        return ["latency.svg": latency.svg, "latency-time.svg": overTime.svg, "packets.svg": packets.svg, "cpu.svg": cpu.svg]
    }

    /// Writes everything into `directory`, creating it; returns the paths written.
    @discardableResult
    public static func write(report: LoadTestReport, statistics: RunStatistics, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files = ["report.json": try report.json(), "report.md": Data(report.markdown.utf8)]
        for (name, svg) in charts(report: report, statistics: statistics) { files[name] = Data(svg.utf8) }
        var written: [String] = []
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            let path = "\(directory)/\(name)"
            try data.write(to: URL(fileURLWithPath: path))
            written.append(path)
        }
        return written
    }
}
