import XCTest
@testable import SFU

/// A layer's keyframe size, which the allocation asks room for before it
/// resumes a simulcast slot (`BandwidthAllocator.keyframeDrain`).
final class KeyframeSizeTests: XCTestCase {
    func testCountsThePacketsOfTheLastKeyframeOnly() {
        var layer = PublishedStream.Layer(kind: .video, rid: "q", ssrc: 1, rtxSSRC: nil, repair: .init())
        XCTAssertEqual(layer.keyframeBytes, 0, "none seen yet")
        layer.noteFrameBytes(1_000, timestamp: 90_000, keyframe: false, now: .zero)
        XCTAssertEqual(layer.keyframeBytes, 0, "a delta frame is not counted")
        // A keyframe in three packets, then delta frames.
        layer.noteFrameBytes(1_200, timestamp: 93_000, keyframe: true, now: .zero)
        layer.noteFrameBytes(1_200, timestamp: 93_000, keyframe: false, now: .zero)
        layer.noteFrameBytes(700, timestamp: 93_000, keyframe: false, now: .zero)
        layer.noteFrameBytes(400, timestamp: 96_000, keyframe: false, now: .zero)
        XCTAssertEqual(layer.keyframeBytes, 3_100)
        // The next keyframe replaces it.
        layer.noteFrameBytes(900, timestamp: 99_000, keyframe: true, now: .zero)
        layer.noteFrameBytes(800, timestamp: 99_000, keyframe: false, now: .zero)
        XCTAssertEqual(layer.keyframeBytes, 1_700)
    }
}
