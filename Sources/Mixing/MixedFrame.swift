/// One encoded 20 ms frame for one listener.
public struct MixedFrame: Sendable {
    /// Who receives it.
    public let listener: String
    /// The Opus packet (RFC 7587 payload). Listeners hearing the same mix
    /// share one encode, so this array is shared, not copied.
    public let payload: [UInt8]
    /// The mixer's media clock for this frame: 960 more per 20 ms frame
    /// (48 kHz, RFC 7587 §4.1), continuous while the mixer runs; the engine
    /// adds its per-stream random offset.
    public let timestamp: UInt32
    /// True for a DTX frame (at most 2 bytes, RFC 6716 §2.1.9) the engine
    /// may leave unsent; the timestamp still advances.
    public var isDTX: Bool { payload.count <= 2 }
}
