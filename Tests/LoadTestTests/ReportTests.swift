import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Wire
import XCTest
@testable import LoadTest

final class ReportTests: XCTestCase {
    func testProcStatParsing() {
        // The command name may hold spaces and parentheses; fields count from the last ')'.
        let stat = "1234 (cohort (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 5000 1000000 2000"
        XCTAssertEqual(ProcessSample.cpuTicks(stat: stat), 325)
        XCTAssertNil(ProcessSample.cpuTicks(stat: "garbage"))
        XCTAssertEqual(ProcessSample.residentBytes(status: "Name:\tcohort\nVmRSS:\t   40960 kB\nThreads: 3\n"), 40_960 * 1_024)
        XCTAssertNil(ProcessSample.residentBytes(status: "Name: x\n"))
        let a = ProcessSample(cpuTicks: 100, residentBytes: 0)
        let b = ProcessSample(cpuTicks: 100 + UInt64(ProcessSample.ticksPerSecond / 2), residentBytes: 0)
        XCTAssertEqual(ProcessSample.cpuPercent(from: a, to: b, seconds: 1), 50, accuracy: 0.01)
        XCTAssertNotNil(ProcessSample.read(pid: "self"))
    }

    func testHarnessHealth() {
        let fine = HarnessHealth.assess(harnessCPU: [30, 40], serverCPU: [20], loops: 1, cores: 2, pacingP99Ms: 2)
        XCTAssertFalse(fine.harnessBound)
        let busy = HarnessHealth.assess(harnessCPU: [95, 97], serverCPU: [20], loops: 1, cores: 2, pacingP99Ms: 2)
        XCTAssertTrue(busy.harnessBound)
        let late = HarnessHealth.assess(harnessCPU: [10], serverCPU: [], loops: 2, cores: 2, pacingP99Ms: 25)
        XCTAssertTrue(late.harnessBound)
        XCTAssertTrue(late.findings.contains { $0.contains("pacing") })
        let saturated = HarnessHealth.assess(harnessCPU: [120], serverCPU: [75], loops: 2, cores: 2, pacingP99Ms: 1)
        XCTAssertTrue(saturated.findings.contains { $0.contains("saturated") })
    }

    private func sampleReport(violations: Int = 0, lost: Int = 0) -> (LoadTestReport, RunStatistics) {
        var stats = RunStatistics()
        stats.add(.rtpReceived, 1_000)
        stats.add(.joinsComplete, 8)
        for i in 0..<violations { stats.violation("v\(i)") }
        var s = StreamReceiveStats()
        for seq: UInt32 in 0..<1_000 where seq >= UInt32(lost) || seq == 0 {
            s.record(sequence: seq, sendTime: .milliseconds(UInt64(seq)), arrival: .milliseconds(UInt64(seq) + 3))
            stats.audioLatency.record(.milliseconds(3))
        }
        stats.absorb(s) { _ in false }
        let series = (1...5).map { SecondSample(t: Double($0), connected: 8, packetsOutPerSecond: 600, packetsInPerSecond: 1_800,
                                                latencyP95Ms: 3, pacingP99Ms: 1, serverCPUPercent: 30, serverRSSMiB: 40,
                                                harnessCPUPercent: 40) }
        let report = LoadTestReport(scenario: Scenario(name: "smoke"), startedAt: Date(timeIntervalSince1970: 0),
                                    elapsedSeconds: 5, server: "test", eventLoops: 1, statistics: stats, timeSeries: series,
                                    harness: HarnessHealth.assess(harnessCPU: [40], serverCPU: [30], loops: 1, cores: 2, pacingP99Ms: 1),
                                    notes: ["split at 40 s skipped"], maximumLossPercent: 1)
        return (report, stats)
    }

    func testChecksPassAndFail() {
        XCTAssertTrue(sampleReport().0.passed)
        let violated = sampleReport(violations: 2).0
        XCTAssertFalse(violated.passed)
        XCTAssertEqual(violated.checks["no isolation violations"], false)
        let lossy = sampleReport(lost: 50).0   // 49 of 1000 missing
        XCTAssertFalse(lossy.passed)
        XCTAssertEqual(lossy.checks["loss below 1.0%"], false)
        XCTAssertEqual(lossy.serverCPUMicrosecondsPerPacket ?? 0, 1.5 / 1_000 * 1e6, accuracy: 1e-6)
    }

    func testSteadyCPUPerPacketLeavesOutTheJoins() {
        // Two participants: joining during the first two seconds (busy with
        // DTLS, few packets), then both connected for four 1-second samples
        // and one half-second sample.
        func sample(_ t: Double, _ connected: Int, pps: Double, cpu: Double) -> SecondSample {
            SecondSample(t: t, connected: connected, packetsOutPerSecond: 0, packetsInPerSecond: pps,
                         latencyP95Ms: 0, pacingP99Ms: 0, serverCPUPercent: cpu, serverRSSMiB: nil, harnessCPUPercent: 0)
        }
        let series = [sample(1, 1, pps: 10, cpu: 50), sample(2, 2, pps: 500, cpu: 20),
                      sample(3, 2, pps: 1_000, cpu: 1), sample(4, 2, pps: 1_000, cpu: 1),
                      sample(5, 2, pps: 1_000, cpu: 1), sample(5.5, 2, pps: 1_000, cpu: 2)]
        // 3 × 10 ms + 0.5 × 20 ms over 3 500 packets; the second that ended
        // at t = 2 began with one participant, so it is left out.
        XCTAssertEqual(LoadTestReport.steadyCPUPerPacket(series, participants: 2) ?? 0, 0.04 / 3_500 * 1e6, accuracy: 1e-9)
        XCTAssertNil(LoadTestReport.steadyCPUPerPacket(Array(series.prefix(4)), participants: 2), "fewer than three steady seconds")
        XCTAssertNil(LoadTestReport.steadyCPUPerPacket(series, participants: 3), "never everyone connected")
    }

    func testJSONAndMarkdownAndSVG() throws {
        let (report, stats) = sampleReport()
        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        XCTAssertEqual((json?["scenario"] as? [String: Any])?["name"] as? String, "smoke")
        XCTAssertEqual((json?["timeSeries"] as? [Any])?.count, 5)
        XCTAssertNotNil(json?["audioLatency"])
        let md = report.markdown
        XCTAssertTrue(md.contains("**Result: PASS**"))
        XCTAssertTrue(md.contains("| audio one-way latency | 1000 | 3.00"))
        XCTAssertTrue(md.contains("split at 40 s skipped"))
        let charts = ReportWriter.charts(report: report, statistics: stats)
        XCTAssertEqual(Set(charts.keys), ["latency.svg", "latency-time.svg", "packets.svg", "cpu.svg"])
        for (name, svg) in charts {
            XCTAssertTrue(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""), name)
            XCTAssertTrue(svg.contains("<polyline"), name)
            // Well-formed XML: the parser accepts it.
            let parser = XMLParser(data: Data(svg.utf8))
            XCTAssertTrue(parser.parse(), "\(name): \(parser.parserError.map { "\($0)" } ?? "")")
        }
        let dir = NSTemporaryDirectory() + "lt-report-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = try ReportWriter.write(report: report, statistics: stats, to: dir)
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent },
                       ["cpu.svg", "latency-time.svg", "latency.svg", "packets.svg", "report.json", "report.md"])
    }

    func testSVGScalesAndEscapes() {
        let chart = SVGChart(title: "a < b & c", xLabel: "x", yLabel: "y",
                             series: [.init(name: "s", color: "red", points: [(0, 0), (10, 37)])])
        let svg = chart.svg
        XCTAssertTrue(svg.contains("a &lt; b &amp; c"))
        XCTAssertTrue(svg.contains(">50<"), "y axis rounds 37 up to 50")
        // x = 0 maps to the left edge of the plot (70 px), y = 0 to the bottom (360 − 50 px).
        XCTAssertTrue(svg.contains("points=\"70.0,310.0 "))
        XCTAssertEqual(SVGChart.niceCeiling(0.37), 0.5)
        XCTAssertEqual(SVGChart.niceCeiling(120), 200)
        XCTAssertEqual(SVGChart.niceCeiling(1000), 1000)
    }
}

final class MachineSampleTests: XCTestCase {
    func testProcStatMachineLine() throws {
        let a = try XCTUnwrap(MachineSample(stat: "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4 5\n"))
        XCTAssertEqual(a.total, 1_000)
        XCTAssertEqual(a.busy, 200)
        let b = MachineSample(total: 2_000, busy: 700)
        XCTAssertEqual(MachineSample.busyPercent(from: a, to: b, cores: 2), 100, accuracy: 1e-9)
        XCTAssertNil(MachineSample(stat: "intr 1 2 3"))
        XCTAssertNotNil(MachineSample.read())
    }

    func testOtherProcessesAreReported() {
        let h = HarnessHealth.assess(harnessCPU: [20], serverCPU: [20], loops: 1, cores: 2, pacingP99Ms: 1,
                                     machineCPU: [190])
        XCTAssertTrue(h.findings.contains { $0.contains("other processes used 150%") }, "\(h.findings)")
        let quiet = HarnessHealth.assess(harnessCPU: [20], serverCPU: [20], loops: 1, cores: 2, pacingP99Ms: 1,
                                         machineCPU: [50])
        XCTAssertFalse(quiet.findings.contains { $0.contains("other processes") })
    }
}
