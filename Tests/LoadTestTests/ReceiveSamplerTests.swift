import LoadTest
import XCTest

/// Which received packets a simulated receiver decrypts to check origin and
/// isolation (the rest are measured by their clear header).
final class ReceiveSamplerTests: XCTestCase {
    func testFirstPacketsThenOneInN() {
        var s = ReceiveSampler(oneIn: 8, burst: 4)
        let decrypted = (0..<36).filter { _ in s.shouldDecrypt(ssrc: 1) }
        // The first four, then one in eight of the rest.
        XCTAssertEqual(decrypted.count, 4 + 4)
        var t = ReceiveSampler(oneIn: 8, burst: 4)
        XCTAssertEqual((0..<36).map { _ in t.shouldDecrypt(ssrc: 1) }.enumerated().filter(\.element).map(\.offset),
                       [0, 1, 2, 3, 4, 12, 20, 28])
    }

    func testEverySlotCountsApartAndASlotChangeDecryptsTheNextPacketsOfEach() {
        var s = ReceiveSampler(oneIn: 8, burst: 2)
        for _ in 0..<20 { _ = s.shouldDecrypt(ssrc: 1) }
        XCTAssertTrue(s.shouldDecrypt(ssrc: 2), "a new slot starts with its burst")
        XCTAssertTrue(s.shouldDecrypt(ssrc: 2))
        XCTAssertFalse(s.shouldDecrypt(ssrc: 1), "slot 1 is between samples")
        s.slotsChanged()
        // A source may have switched: the next packets of every slot are checked.
        XCTAssertTrue(s.shouldDecrypt(ssrc: 1))
        XCTAssertTrue(s.shouldDecrypt(ssrc: 1))
        XCTAssertTrue(s.shouldDecrypt(ssrc: 2))
        XCTAssertTrue(s.shouldDecrypt(ssrc: 2))
        XCTAssertTrue(s.shouldDecrypt(ssrc: 1), "and then one in eight again")
        XCTAssertFalse(s.shouldDecrypt(ssrc: 1))
    }

    /// A source leaked into a slot (an isolation violation) is decrypted,
    /// and so judged, within `oneIn` of its packets, wherever it starts.
    func testALeakedStreamIsSampledWithinOneInPackets() {
        for start in 0..<50 {
            var s = ReceiveSampler(oneIn: 8, burst: 4)
            for _ in 0..<start { _ = s.shouldDecrypt(ssrc: 9) }
            let firstSampled = (0..<8).first { _ in s.shouldDecrypt(ssrc: 9) }
            XCTAssertNotNil(firstSampled, "a leak starting after \(start) packets went unchecked for 8 packets")
        }
    }

    func testOneDecryptsEverything() {
        var s = ReceiveSampler(oneIn: 1)
        XCTAssertTrue(s.decryptsAll)
        XCTAssertTrue((0..<100).allSatisfy { _ in s.shouldDecrypt(ssrc: 3) })
    }
}
