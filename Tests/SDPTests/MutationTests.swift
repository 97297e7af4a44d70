import CohortTestSupport
import XCTest
@testable import SDP

/// Seeded random mutations of the real fixtures: the parser must never trap,
/// and whatever it accepts must round-trip (SDPFuzz.check's invariants).
final class MutationTests: XCTestCase {
    /// Tokens that stress the typed parsers when spliced into a line.
    private let nasty = ["", " ", "  ", ":", "/", "=", ";", ",", "~", "*", "0", "-1", "128", "256", "4096",
                         "65536", "4294967296", "99999999999999999999999", "typ", "raddr", "rport", "pt=",
                         "send", "recv", "a=", "m=", "\u{0}", "\r", "é", "\u{FFFD}", "sha-256", "GG"]

    private func mutate(_ lines: [String], _ rng: inout SeededRandom) -> String {
        var lines = lines
        for _ in 0..<(1 + Int(rng.next() % 3)) {
            guard !lines.isEmpty else { break }
            let i = Int(rng.next() % UInt64(lines.count))
            switch rng.next() % 8 {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: Int(rng.next() % UInt64(lines.count)))
            case 2: lines.swapAt(i, Int(rng.next() % UInt64(lines.count)))
            case 3: // Replace one space-separated field.
                var fields = lines[i].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                fields[Int(rng.next() % UInt64(fields.count))] = nasty[Int(rng.next() % UInt64(nasty.count))]
                lines[i] = fields.joined(separator: " ")
            case 4: // Insert a token at a random character offset.
                var chars = Array(lines[i])
                chars.insert(contentsOf: nasty[Int(rng.next() % UInt64(nasty.count))],
                             at: Int(rng.next() % UInt64(chars.count + 1)))
                lines[i] = String(chars)
            case 5: // Truncate the line.
                lines[i] = String(lines[i].prefix(Int(rng.next() % UInt64(lines[i].count + 1))))
            case 6: // Remove one character.
                var chars = Array(lines[i])
                if !chars.isEmpty { chars.remove(at: Int(rng.next() % UInt64(chars.count))) }
                lines[i] = String(chars)
            default: // Change one character's value.
                var chars = Array(lines[i])
                if !chars.isEmpty {
                    chars[Int(rng.next() % UInt64(chars.count))] = Character(Unicode.Scalar(UInt8(rng.next() % 128)))
                }
                lines[i] = String(chars)
            }
        }
        return lines.joined(separator: rng.chance(0.5) ? "\r\n" : "\n")
    }

    func testSeededLineMutationsNeverTrapAndAcceptedOnesRoundTrip() throws {
        var rng = SeededRandom(seed: 0x5D9_2026)
        var accepted = 0, rejected = 0
        for name in try FixtureLoader.names() {
            let lines = try FixtureLoader.text(name).components(separatedBy: "\r\n")
            // A debug-build check of the 960-line Chromium offer costs ~0.1 s; the
            // small offers hold the same attribute kinds, so they take most rounds.
            let rounds = lines.count > 500 ? 3 : lines.count > 200 ? 15 : lines.count > 100 ? 40 : 300
            for round in 0..<rounds {
                let input = mutate(lines, &rng)
                if let violation = SDPFuzz.check(Array(input.utf8)) {
                    XCTFail("\(name) round \(round): \(violation)\n\(input)")
                    return
                }
                if (try? SessionDescription.parse(input)) != nil { accepted += 1 } else { rejected += 1 }
            }
        }
        // Both outcomes must occur, or the mutations are not exercising the parser.
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertGreaterThan(rejected, 100)
    }

    func testSeededByteNoiseNeverTraps() throws {
        var rng = SeededRandom(seed: 42)
        let seed = Array(try FixtureLoader.text("aiortc-audio-video.sdp").utf8)
        for _ in 0..<300 {
            var bytes = seed
            for _ in 0..<(1 + Int(rng.next() % 16)) {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            XCTAssertNil(SDPFuzz.check(bytes))
            _ = try? SessionDescription.parse(bytes: bytes)
            SDPFuzz.run(bytes)
        }
        for length in [0, 1, 2, 3, 7, 64] {
            let noise = (0..<length).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertNil(SDPFuzz.check(noise))
        }
    }
}
