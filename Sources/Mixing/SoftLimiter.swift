import Foundation

/// Keeps a mix inside 16-bit range without wrap-around or hard clipping.
///
/// Two stages, both look-ahead-free beyond the 20 ms frame already in hand:
/// a gain that drops at once to bring the frame's peak down to `threshold`
/// (over a 1 ms ramp) and recovers slowly, and behind it a tanh soft knee
/// above `kneeStart` that maps any remaining overshoot smoothly into
/// (-1, 1). Below the threshold, with the gain recovered, the limiter is
/// the identity, so moderate mixes pass untouched.
public struct SoftLimiter: Sendable {
    /// Peak level (full scale = 1) the gain stage aims for.
    public var threshold: Float = 0.7
    /// Where the soft knee starts bending (full scale = 1).
    public var kneeStart: Float = 0.8
    /// Gain recovery per 20 ms frame, as a factor (0.5 dB).
    public var releaseFactor: Float = 1.059_254
    /// The gain now applied.
    public private(set) var gain: Float = 1

    /// Full scale in 16 bits, one step short of the rail: tanh reaches 1
    /// in floating point for large overshoots, and even then the output
    /// stays strictly inside the range.
    public static let scale: Float = 32_766

    /// Creates the defaults.
    public init() {}

    /// Limits `samples` (full scale = 1) and writes 16-bit PCM to `output`;
    /// returns true when the limiter changed anything.
    @discardableResult
    public mutating func process(_ samples: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Int16>) -> Bool {
        precondition(output.count >= samples.count, "output shorter than input")
        var peak: Float = 0
        for x in samples { peak = max(peak, abs(x)) }
        let wanted: Float = peak > threshold ? threshold / peak : 1
        let newGain = wanted < gain ? wanted : min(wanted, gain * releaseFactor)
        let ramp = newGain < gain ? min(48, samples.count) : samples.count
        let start = gain
        var touched = newGain != 1 || start != 1
        let k = kneeStart, room = 1 - kneeStart
        for i in 0..<samples.count {
            let g = i < ramp ? start + (newGain - start) * Float(i + 1) / Float(ramp) : newGain
            var y = samples[i] * g
            let a = abs(y)
            if a > k {
                // Soft knee: continuous with slope 1 at `k`, approaching 1 but never reaching it.
                let bent = k + room * Float(tanh(Double((a - k) / room)))
                y = y < 0 ? -bent : bent
                touched = true
            }
            output[i] = Int16((y * Self.scale).rounded())
        }
        gain = newGain
        return touched
    }
}
