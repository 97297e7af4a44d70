import CohortTestSupport
import XCTest
@testable import ControlPlane

/// The fuzz entry points on seeded inputs, in every test run (Scripts/fuzz.sh
/// runs them under libFuzzer for longer): messages and WebSocket bytes,
/// random and mutated from real ones, never trap.
final class ControlPlaneFuzzTests: XCTestCase {
    private let seeds: [String] = [
        #"{"type":"join","id":"1","token":"a.b.c","name":"Dana","sdp":"v=0"}"#,
        #"{"type":"hand","id":"2","raised":true}"#,
        #"{"type":"assign","id":"3","assignments":{"p1":"r1"}}"#,
        #"{"type":"close-rooms","id":"4","countdown":30}"#,
        #"{"type":"chat","id":"5","text":"hello"}"#,
        #"{"type":"screen-share","id":"6","sharing":true}"#,
        #"{"type":"screen-permission","id":"7","allowed":false}"#,
    ]

    func testMessagesNeverTrap() {
        var random = SeededRandom(seed: 19)
        for seed in seeds {
            let bytes = Array(seed.utf8)
            ControlPlaneFuzz.message(bytes)
            for _ in 0..<300 {
                var m = bytes
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    switch Int.random(in: 0..<3, using: &random) {
                    case 0: m[Int.random(in: 0..<m.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                    case 1: m.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...m.count, using: &random))
                    default: if m.count > 1 { m.remove(at: Int.random(in: 0..<m.count, using: &random)) }
                    }
                }
                ControlPlaneFuzz.message(m)
            }
        }
        for _ in 0..<500 { ControlPlaneFuzz.message((0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }) }
    }

    func testWebSocketBytesNeverTrap() {
        var random = SeededRandom(seed: 20)
        // A masked text frame carrying a chat message, then mutations of it.
        let payload = Array(#"{"type":"chat","id":"1","text":"hi"}"#.utf8)
        let mask: [UInt8] = [1, 2, 3, 4]
        let frame = [0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $1 ^ mask[$0 % 4] }
        ControlPlaneFuzz.webSocket(frame)
        for _ in 0..<1_000 {
            var m = frame + frame
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                m[Int.random(in: 0..<m.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            ControlPlaneFuzz.webSocket(m)
        }
        for _ in 0..<500 { ControlPlaneFuzz.webSocket((0..<Int.random(in: 0...256, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }) }
    }
}
