/// Whether the harness itself limited the run: a load generator that is out
/// of CPU or sends late measures itself, not the server.
public struct HarnessHealth: Codable, Equatable, Sendable {
    /// Mean harness CPU over the run, percent of one core.
    public var meanCPUPercent: Double
    /// Highest one-second harness CPU.
    public var peakCPUPercent: Double
    /// Percent of one core the harness can use (event loops × 100, at most the cores).
    public var cpuBudgetPercent: Double
    /// 99th percentile of send-pacing lateness, ms.
    public var pacingP99Ms: Double
    /// True when the numbers above say the harness, not the server, was the bottleneck.
    public var harnessBound: Bool
    /// Plain-language findings.
    public var findings: [String]

    /// Judges the run: CPU above 85 % of the budget in the mean (or above
    /// 95 % at the peak), or a pacing p99 above 10 ms (half an audio frame).
    /// Other processes using more than a quarter of the machine are reported
    /// too: the server and the harness then wait for CPU, and latency grows.
    public static func assess(harnessCPU: [Double], serverCPU: [Double], loops: Int, cores: Int,
                              pacingP99Ms: Double, machineCPU: [Double] = []) -> HarnessHealth {
        let budget = 100 * Double(max(1, min(loops, cores)))
        let mean = harnessCPU.isEmpty ? 0 : harnessCPU.reduce(0, +) / Double(harnessCPU.count)
        let peak = harnessCPU.max() ?? 0
        var findings: [String] = []
        var bound = false
        if mean > 0.85 * budget || peak > 0.95 * budget {
            bound = true
            findings.append(String(format: "harness CPU %.0f%% mean / %.0f%% peak of a %.0f%% budget: the harness is CPU-bound",
                                   mean, peak, budget))
        }
        if pacingP99Ms > 10 {
            bound = true
            findings.append(String(format: "send pacing p99 is %.1f ms late: media left the harness late, latency figures include it",
                                   pacingP99Ms))
        }
        let serverMean = serverCPU.isEmpty ? 0 : serverCPU.reduce(0, +) / Double(serverCPU.count)
        if mean + serverMean > 0.9 * 100 * Double(cores) {
            findings.append(String(format: "machine saturated: harness %.0f%% + server %.0f%% of %d cores; both share them",
                                   mean, serverMean, cores))
        }
        let machineMean = machineCPU.isEmpty ? 0 : machineCPU.reduce(0, +) / Double(machineCPU.count)
        let others = machineMean - mean - serverMean
        if !machineCPU.isEmpty, others > 25 * Double(cores) {
            findings.append(String(format: "other processes used %.0f%% CPU (machine %.0f%% of %d cores): "
                                   + "the figures include waiting for CPU and are not the server's alone",
                                   others, machineMean, cores))
        }
        if findings.isEmpty {
            findings.append(String(format: "harness within limits (CPU %.0f%% mean of %.0f%%, pacing p99 %.2f ms)",
                                   mean, budget, pacingP99Ms))
        }
        return HarnessHealth(meanCPUPercent: mean, peakCPUPercent: peak, cpuBudgetPercent: budget,
                             pacingP99Ms: pacingP99Ms, harnessBound: bound, findings: findings)
    }
}
