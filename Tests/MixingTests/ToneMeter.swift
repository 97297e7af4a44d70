import Foundation

/// Measures audio the way the tests need: the level of one tone (a
/// Goertzel filter over a Hann window) and runs of silence.
enum ToneMeter {
    /// The amplitude of the `hz` component of `x` in dB relative to a
    /// full-scale sine (0 dB = amplitude 32768). Hann-windowed, so nearby
    /// tones 200 Hz away leak less than -60 dB at the window lengths used.
    static func level(_ x: ArraySlice<Int16>, hz: Double) -> Double {
        let n = x.count
        let w = 2 * Double.pi * hz / 48_000
        let coefficient = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0, windowSum = 0.0
        for (i, sample) in x.enumerated() {
            let hann = 0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(n - 1))
            windowSum += hann
            let s0 = Double(sample) * hann + coefficient * s1 - s2
            s2 = s1
            s1 = s0
        }
        let power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
        let amplitude = 2 * power.squareRoot() / windowSum
        return 20 * log10(max(amplitude, 1e-3) / 32_768)
    }

    /// RMS level of `x` in dBFS (0 dB = full-scale square wave).
    static func rms(_ x: ArraySlice<Int16>) -> Double {
        guard !x.isEmpty else { return -200 }
        let sum = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        let rms = (sum / Double(x.count)).squareRoot()
        return 20 * log10(max(rms, 1e-6) / 32_768)
    }

    /// The longest run of silence in `x`, in milliseconds, where silence is a
    /// 10 ms window (480 samples, not overlapping) whose RMS is below `threshold` dBFS.
    static func longestSilence(_ x: [Int16], threshold: Double = -50) -> Int {
        var longest = 0, run = 0
        var start = 0
        while start + 480 <= x.count {
            if rms(x[start..<(start + 480)]) < threshold { run += 10 } else { run = 0 }
            longest = max(longest, run)
            start += 480
        }
        return longest
    }

    /// How many 10 ms windows of `x` are silent (RMS below `threshold` dBFS).
    static func silentWindows(_ x: [Int16], threshold: Double = -50) -> Int {
        stride(from: 0, to: x.count - 479, by: 480).filter { rms(x[$0..<($0 + 480)]) < threshold }.count
    }

    /// One 20 ms frame of a sine at `hz` with `amplitude` (fraction of full
    /// scale), starting at absolute sample `offset` so frames join up.
    /// With `syllables`, the amplitude rises and falls four times a second
    /// and the pitch wobbles, like speech: libopus's voice activity detector
    /// calls a steady sine noise after half a second and then stops sending
    /// in-band FEC (RFC 6716 §4.2.4: LBRR only for active frames).
    static func tone(hz: Double, amplitude: Double, offset: Int, count: Int = 960, syllables: Bool = false) -> [Int16] {
        (0..<count).map { i in
            let t = Double(offset + i) / 48_000
            let envelope = syllables ? 0.7 - 0.3 * cos(2 * Double.pi * 4 * t) : 1
            let phase = syllables ? hz * t + 3 * sin(2 * Double.pi * 5 * t) : hz * t
            let v = amplitude * envelope * 32_767 * sin(2 * Double.pi * phase)
            return Int16(max(-32_767, min(32_767, v.rounded())))
        }
    }
}
