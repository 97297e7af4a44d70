/// One point per second of the run, for the progress line and the charts.
public struct SecondSample: Codable, Equatable, Sendable {
    /// Seconds since the run started.
    public var t: Double
    /// Participants with media connected.
    public var connected: Int
    /// RTP packets sent per second (all participants).
    public var packetsOutPerSecond: Double
    /// RTP packets received per second.
    public var packetsInPerSecond: Double
    /// 95th percentile one-way latency over this second, ms.
    public var latencyP95Ms: Double
    /// 99th percentile of send-pacing lateness over this second, ms.
    public var pacingP99Ms: Double
    /// Server CPU in percent of one core (nil without a server pid).
    public var serverCPUPercent: Double?
    /// Server resident memory in MiB.
    public var serverRSSMiB: Double?
    /// The harness's own CPU in percent of one core.
    public var harnessCPUPercent: Double
    /// The whole machine's busy CPU in percent of one core (all processes).
    public var machineCPUPercent: Double?

    /// Creates a sample.
    public init(t: Double, connected: Int, packetsOutPerSecond: Double, packetsInPerSecond: Double,
                latencyP95Ms: Double, pacingP99Ms: Double, serverCPUPercent: Double?, serverRSSMiB: Double?,
                harnessCPUPercent: Double, machineCPUPercent: Double? = nil) {
        self.t = t
        self.connected = connected
        self.packetsOutPerSecond = packetsOutPerSecond
        self.packetsInPerSecond = packetsInPerSecond
        self.latencyP95Ms = latencyP95Ms
        self.pacingP99Ms = pacingP99Ms
        self.serverCPUPercent = serverCPUPercent
        self.serverRSSMiB = serverRSSMiB
        self.harnessCPUPercent = harnessCPUPercent
        self.machineCPUPercent = machineCPUPercent
    }
}
