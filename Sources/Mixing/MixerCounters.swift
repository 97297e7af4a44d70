/// What a room mixer did, for metrics and tests.
public struct MixerCounters: Equatable, Sendable {
    /// Ticks that produced audio (one per 20 ms frame).
    public var frames = 0
    /// Frames skipped because `tick` was called too late to catch up.
    public var skippedFrames = 0
    /// libopus decode calls (packets, FEC and concealment).
    public var decodeCalls = 0
    /// Packets marked as no voice (RFC 6464) that were not decoded: their
    /// sender was not in the mix, so their 20 ms counted as silence.
    public var decodesSkipped = 0
    /// Packets libopus refused (peer input); each was concealed instead.
    public var decodeErrors = 0
    /// libopus encode calls.
    public var encodes = 0
    /// Output frames that were one contributor's own packet, forwarded
    /// instead of encoded (`Configuration.passthroughSizeRatio`).
    public var passthroughs = 0
    /// Frames a passing-through output sent nothing, its voice's packet
    /// being lost or late (the listener conceals them).
    public var passthroughGaps = 0
    /// Encodes that failed (the frame was not sent).
    public var encodeErrors = 0
    /// Output frames the limiter changed.
    public var limitedFrames = 0
    /// Packets for a key that is not a contributor.
    public var unknownContributor = 0
    /// Packets dropped at the door because nobody listens.
    public var ignoredWithoutListeners = 0
    /// Times the set of mixed speakers changed.
    public var speakerChanges = 0
    /// Mix-minus encoders that could not be made (the listener kept its mix).
    public var encoderFailures = 0
    /// Creates zeros.
    public init() {}
}
