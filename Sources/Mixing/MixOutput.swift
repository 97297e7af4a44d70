import Opus

/// Which mix an output carries: the whole room, or the room minus one contributor.
enum MixKey: Hashable {
    case full
    case minus(UInt32)
}

/// One listener of a room mixer: what it contributes (nil: nothing, or
/// muted) and which mix it hears now.
struct MixListener: Equatable {
    var own: UInt32?
    var output: MixKey
}

/// One distinct mix and the listeners who hear it: one limiter, one
/// encoder and one encode per tick however many listeners share it.
final class MixOutput {
    let key: MixKey
    let encoder: OpusEncoder
    var limiter = SoftLimiter()
    var listeners: Set<String> = []
    var mix: [Float]
    var pcm: [Int16]
    var packet: [UInt8]
    /// The contributor whose packets this output forwards as they came
    /// (a mix of one voice, `RoomMixer.Configuration.passthroughSizeRatio`); nil while it encodes.
    var passingThrough: UInt32?

    init(key: MixKey, options: OpusEncoder.Options) throws(OpusError) {
        self.key = key
        encoder = try OpusEncoder(channels: 1, options: options)
        mix = Array(repeating: 0, count: MixContributor.frameSamples)
        pcm = Array(repeating: 0, count: MixContributor.frameSamples)
        packet = Array(repeating: 0, count: 1_500)
    }
}
