import Foundation
import Opus

/// Opus frames encoded once at start from a tone and replayed by every
/// participant, so that publishing costs no encoder time in the harness.
public struct AudioClip: Sendable {
    /// Samples per 20 ms frame at 48 kHz.
    public static let samplesPerFrame = 960
    /// The encoded 20 ms frames, in order; replaying them in a loop is seamless
    /// because the clip holds a whole number of tone periods.
    public let frames: [[UInt8]]

    /// Encodes `seconds` of a `frequency` Hz sine at `amplitude` (0...1).
    public init(frequency: Double = 440, seconds: Int = 1, amplitude: Double = 0.3) throws(OpusError) {
        let encoder = try OpusEncoder(channels: 1)
        var frames: [[UInt8]] = []
        let count = seconds * 50
        for f in 0..<count {
            let pcm = (0..<Self.samplesPerFrame).map { i -> Int16 in
                let n = Double(f * Self.samplesPerFrame + i)
                return Int16(amplitude * 32_767 * sin(2 * Double.pi * frequency * n / 48_000))
            }
            frames.append(try encoder.encode(pcm))
        }
        self.frames = frames
    }

    /// The frame to send as the `index`-th packet of a stream.
    public func frame(_ index: Int) -> [UInt8] { frames[index % frames.count] }
}
