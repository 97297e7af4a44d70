import Foundation

extension LoadTestReport {
    /// The human-readable report.
    public var markdown: String {
        func row(_ name: String, _ p: PercentileSummary) -> String {
            String(format: "| %@ | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |", name, p.count, p.p50, p.p90, p.p95,
                   p.p99, p.p999, p.max)
        }
        func opt(_ v: Double?, _ fmt: String) -> String { v.map { String(format: fmt, $0) } ?? "n/a" }
        var md: [String] = []
        md.append("# Load test: \(scenario.name)")
        md.append("")
        if !scenario.description.isEmpty { md.append(scenario.description); md.append("") }
        md.append("Started \(startedAt), ran \(String(format: "%.1f", elapsedSeconds)) s against \(server), "
                  + "\(eventLoops) harness event loop(s).")
        md.append("")
        md.append("**Result: \(passed ? "PASS" : "FAIL")**")
        md.append("")
        for (name, ok) in checks.sorted(by: { $0.key < $1.key }) { md.append("- \(ok ? "✅" : "❌") \(name)") }
        md.append("")
        md.append("## Participants")
        md.append("")
        md.append("| target | joins started | joined | media connected | saw every peer | failed | left | vanished | rejoined | removed by server |")
        md.append("|---|---|---|---|---|---|---|---|---|---|")
        let c = counters
        md.append("| \(targetParticipants) | \(c["joinsStarted"] ?? 0) | \(c["joinsSignalled"] ?? 0) | \(c["mediaConnected"] ?? 0) | "
                  + "\(c["joinsComplete"] ?? 0) | \(c["joinsFailed"] ?? 0) | \(c["leaves"] ?? 0) | \(c["vanishes"] ?? 0) | \(c["rejoins"] ?? 0) | \(c["removedByServer"] ?? 0) |")
        if !joinFailures.isEmpty {
            md.append("")
            md.append("Join failures: " + joinFailures.sorted(by: { $0.key < $1.key }).map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        md.append("")
        md.append("## Times (ms)")
        md.append("")
        md.append("| measure | n | p50 | p90 | p95 | p99 | p99.9 | max |")
        md.append("|---|---|---|---|---|---|---|---|")
        md.append(row("join: WebSocket open → media from every peer", joinTime))
        md.append(row("signalling: WebSocket open → joined", signallingTime))
        md.append(row("ICE + DTLS: answer → SRTP keys", iceDTLSTime))
        md.append(row("breakout move: host command → first packet from a new room-mate", moveLatency))
        md.append(row("audio one-way latency", audioLatency))
        md.append(row("video one-way latency", videoLatency))
        md.append(row("harness send lateness", pacingLateness))
        if let apartTime { md.append(row("apart: server lost → media from every peer again", apartTime)) }
        md.append("")
        md.append("## Delivery")
        md.append("")
        let s = streams
        md.append("| streams | expected | received | lost | loss % | injected uplink | injected downlink | duplicates | reordered | jitter mean / max (ms) |")
        md.append("|---|---|---|---|---|---|---|---|---|---|")
        md.append(String(format: "| %d | %d | %d | %d | %.3f | %d | %d | %d | %d | %.2f / %.2f |", s.streams, s.expected, s.received,
                         s.lost, s.lossPercent, s.injectedUplink, s.injectedDownlink, s.duplicates, s.reordered,
                         s.jitterMeanMs, s.jitterMaxMs))
        md.append("")
        md.append("RTP sent \(c["rtpSent"] ?? 0), received \(c["rtpReceived"] ?? 0) (without probe, e.g. mixed audio: "
                  + "\(c["rtpWithoutProbe"] ?? 0)); abs-send-time disagreeing with the payload probe: \(c["sendTimeMismatch"] ?? 0); "
                  + "PLIs received \(c["pliReceived"] ?? 0), keyframes sent \(c["keyframesSent"] ?? 0).")
        md.append("")
        md.append("Isolation violations: **\(c["isolationViolations"] ?? 0)**")
        for v in violationSamples { md.append("- \(v)") }
        md.append("")
        md.append("## Server")
        md.append("")
        md.append("CPU mean \(opt(serverCPUMeanPercent, "%.1f"))% / peak \(opt(serverCPUPeakPercent, "%.1f"))% of one core, "
                  + "RSS peak \(opt(serverRSSPeakMiB, "%.1f")) MiB, CPU per delivered packet \(opt(serverCPUMicrosecondsPerPacket, "%.2f")) µs "
                  + "(\(opt(serverSteadyCPUMicrosecondsPerPacket, "%.2f")) µs once everyone was connected).")
        md.append("")
        md.append("## Harness")
        md.append("")
        md.append(harness.harnessBound ? "**The harness was the bottleneck; server figures are a lower bound.**"
                                       : "The harness was not the bottleneck.")
        md.append("")
        md.append("Harness CPU per received packet \(opt(harnessCPUMicrosecondsPerPacket, "%.2f")) µs (its sending included); "
                  + "packets decrypted \(c["rtpDecrypted"] ?? 0) of \(c["rtpReceived"] ?? 0) received.")
        for f in harness.findings { md.append("- \(f)") }
        if !notes.isEmpty {
            md.append("")
            md.append("## Notes")
            md.append("")
            for n in notes { md.append("- \(n)") }
        }
        md.append("")
        md.append("## Charts")
        md.append("")
        md.append("![latency](latency.svg)")
        md.append("![latency over time](latency-time.svg)")
        md.append("![packets](packets.svg)")
        md.append("![cpu](cpu.svg)")
        md.append("")
        return md.joined(separator: "\n")
    }
}
