import CCohortOpus

/// Errors from libopus, by its error codes.
public enum OpusError: Error, Equatable, Sendable {
    /// OPUS_BAD_ARG: a parameter was out of range.
    case badArgument
    /// OPUS_BUFFER_TOO_SMALL: the output buffer could not hold the result.
    case bufferTooSmall
    /// OPUS_INVALID_PACKET: the packet is corrupt or unsupported (peer input).
    case invalidPacket
    /// OPUS_INTERNAL_ERROR, OPUS_ALLOC_FAIL or anything else.
    case failed(code: Int32)

    init(code: Int32) {
        switch code {
        case OPUS_BAD_ARG: self = .badArgument
        case OPUS_BUFFER_TOO_SMALL: self = .bufferTooSmall
        case OPUS_INVALID_PACKET: self = .invalidPacket
        default: self = .failed(code: code)
        }
    }
}

/// An Opus encoder at 48 kHz (RFC 6716, RFC 7587). Not thread-safe: one owner, one loop.
public final class OpusEncoder {
    private let state: OpaquePointer
    /// Channels per frame (1 or 2).
    public let channels: Int

    /// Encoder options Cohort uses.
    public struct Options: Sendable {
        /// Target bitrate in bit/s (default 32 kbit/s).
        public var bitrate: Int32 = 32_000
        /// Complexity 0...10.
        public var complexity: Int32 = 5
        /// In-band forward error correction (RFC 6716 §2.1.7).
        public var inbandFEC = true
        /// Expected loss in percent, which FEC uses to size its redundancy.
        public var expectedLossPercent: Int32 = 10
        /// Discontinuous transmission during silence.
        public var dtx = false
        /// Creates the defaults.
        public init() {}
    }

    /// Creates a VoIP encoder with `options`.
    public init(channels: Int = 1, options: Options = Options()) throws(OpusError) {
        var err: Int32 = 0
        guard let st = opus_encoder_create(48_000, Int32(channels), OPUS_APPLICATION_VOIP, &err), err == OPUS_OK else {
            throw OpusError(code: err)
        }
        state = st
        self.channels = channels
        cohort_opus_set_bitrate(st, options.bitrate)
        cohort_opus_set_complexity(st, options.complexity)
        cohort_opus_set_inband_fec(st, options.inbandFEC ? 1 : 0)
        cohort_opus_set_packet_loss_perc(st, options.expectedLossPercent)
        cohort_opus_set_dtx(st, options.dtx ? 1 : 0)
        cohort_opus_set_signal_voice(st)
    }

    deinit { opus_encoder_destroy(state) }

    /// Forgets the signal so far: the next frame is coded as the start of a stream.
    public func reset() { _ = cohort_opus_encoder_reset(state) }

    /// Encodes one frame of interleaved 16-bit PCM (`samplesPerChannel` of
    /// 120, 240, 480, 960, 1920 or 2880) into `output`, returning the packet length.
    public func encode(_ pcm: UnsafeBufferPointer<Int16>, samplesPerChannel: Int,
                       into output: UnsafeMutableBufferPointer<UInt8>) throws(OpusError) -> Int {
        precondition(pcm.count >= samplesPerChannel * channels, "PCM buffer shorter than the frame")
        guard let input = pcm.baseAddress, let out = output.baseAddress else { throw .bufferTooSmall }
        let n = opus_encode(state, input, Int32(samplesPerChannel), out, Int32(output.count))
        guard n >= 0 else { throw OpusError(code: n) }
        return Int(n)
    }

    /// Convenience: encodes `pcm` (one frame) into a new array.
    public func encode(_ pcm: [Int16]) throws(OpusError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 1_500)
        let spc = pcm.count / channels
        let n = try pcm.withUnsafeBufferPointer { p throws(OpusError) in
            try out.withUnsafeMutableBufferPointer { o throws(OpusError) in
                try encode(p, samplesPerChannel: spc, into: o)
            }
        }
        out.removeSubrange(n...)
        return out
    }
}

/// An Opus decoder at 48 kHz with packet-loss concealment and in-band FEC.
/// Not thread-safe: one owner, one loop.
public final class OpusDecoder {
    private let state: OpaquePointer
    /// Channels per decoded frame.
    public let channels: Int

    /// Creates a decoder producing `channels` channels at 48 kHz.
    public init(channels: Int = 1) throws(OpusError) {
        var err: Int32 = 0
        guard let st = opus_decoder_create(48_000, Int32(channels), &err), err == OPUS_OK else {
            throw OpusError(code: err)
        }
        state = st
        self.channels = channels
    }

    deinit { opus_decoder_destroy(state) }

    /// Decodes `packet` into `pcm`, returning samples per channel. With an
    /// empty packet it conceals a loss of `samplesPerChannel` (RFC 6716 §4.4);
    /// with `fec` it decodes the in-band redundancy of the *previous* frame
    /// carried in `packet`.
    public func decode(_ packet: UnsafeBufferPointer<UInt8>, into pcm: UnsafeMutableBufferPointer<Int16>,
                       samplesPerChannel: Int, fec: Bool = false) throws(OpusError) -> Int {
        guard let out = pcm.baseAddress else { throw .bufferTooSmall }
        let n = opus_decode(state, packet.count == 0 ? nil : packet.baseAddress, Int32(packet.count),
                            out, Int32(min(samplesPerChannel, pcm.count / channels)), fec ? 1 : 0)
        guard n >= 0 else { throw OpusError(code: n) }
        return Int(n)
    }

    /// Convenience: decodes one packet (or conceals with an empty one) into a new array.
    public func decode(_ packet: [UInt8], samplesPerChannel: Int = 960, fec: Bool = false) throws(OpusError) -> [Int16] {
        var pcm = [Int16](repeating: 0, count: 5_760 * channels)
        let n = try packet.withUnsafeBufferPointer { p throws(OpusError) in
            try pcm.withUnsafeMutableBufferPointer { o throws(OpusError) in
                try decode(p, into: o, samplesPerChannel: samplesPerChannel, fec: fec)
            }
        }
        pcm.removeSubrange((n * channels)...)
        return pcm
    }

    /// Resets the decoder state (after a source switch).
    public func reset() { cohort_opus_decoder_reset(state) }
}
