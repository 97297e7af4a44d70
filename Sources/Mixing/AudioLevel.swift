import Foundation

/// Audio level in dBov, as RFC 6464 §3 defines it: the RMS of the frame
/// relative to the overload point (a full-scale square wave is 0 dBov),
/// from -127 (silence) up to 0.
public enum AudioLevel {
    /// The quietest level reported.
    public static let silence = -127.0

    /// The level of `samples` (full scale = 1).
    public static func dBov(_ samples: UnsafeBufferPointer<Float>) -> Double {
        guard !samples.isEmpty else { return silence }
        var sum: Double = 0
        for x in samples { sum += Double(x) * Double(x) }
        let rms = (sum / Double(samples.count)).squareRoot()
        guard rms > 0 else { return silence }
        return max(silence, min(0, 20 * log10(rms)))
    }
}
