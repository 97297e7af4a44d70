import XCTest
@testable import SFU

/// Payload descriptors built from RFC 7741 §4.2 layouts.
final class VP8KeyframeTests: XCTestCase {
    func testDescriptors() {
        // S=1, PID=0, no extension; payload header P=0 → keyframe.
        XCTAssertTrue(VP8Keyframe.isKeyframeStart([0x10, 0x00, 0x9D], payload: 0..<3))
        // Same but P=1 → interframe.
        XCTAssertFalse(VP8Keyframe.isKeyframeStart([0x10, 0x01], payload: 0..<2))
        // Not the start of a partition.
        XCTAssertFalse(VP8Keyframe.isKeyframeStart([0x00, 0x00], payload: 0..<2))
        // X=1 with I (15-bit PictureID), L and T/K: descriptor is 6 bytes.
        let ext: [UInt8] = [0x90, 0xF0, 0x80 | 0x12, 0x34, 0x05, 0x20, 0x00]
        XCTAssertTrue(VP8Keyframe.isKeyframeStart(ext, payload: 0..<ext.count))
        // X=1 with I (7-bit PictureID) only, then an interframe header.
        XCTAssertFalse(VP8Keyframe.isKeyframeStart([0x90, 0x80, 0x12, 0x01], payload: 0..<4))
        // Truncated descriptors are never keyframes and never trap.
        XCTAssertFalse(VP8Keyframe.isKeyframeStart([0x90, 0xF0, 0x92], payload: 0..<3))
        XCTAssertFalse(VP8Keyframe.isKeyframeStart([0x10], payload: 0..<1))
        XCTAssertFalse(VP8Keyframe.isKeyframeStart([], payload: 0..<0))
        // Works on a payload that starts after an RTP header.
        XCTAssertTrue(VP8Keyframe.isKeyframeStart([0xAA, 0xBB, 0x10, 0x00], payload: 2..<4))
    }
}
