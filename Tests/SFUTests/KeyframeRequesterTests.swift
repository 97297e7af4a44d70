import Wire
import XCTest
@testable import SFU

/// Keyframe requests (RFC 4585 §6.3.1 PLI, RFC 5104 §4.3.1 FIR) coalesced,
/// retried and rate-limited, driven by a manual clock.
final class KeyframeRequesterTests: XCTestCase {
    private let t0 = Instant.milliseconds(50_000)

    private func at(_ ms: Int64) -> Instant { t0 + .milliseconds(ms) }

    func testFirstRequestGoesOutAtOnce() {
        var k = KeyframeRequester()
        XCTAssertNil(k.poll(now: at(0), rtt: nil))
        XCTAssertNil(k.nextDeadline)
        k.request(now: at(0))
        XCTAssertEqual(k.nextDeadline, at(0))
        XCTAssertEqual(k.poll(now: at(0), rtt: nil), .pli)
        XCTAssertTrue(k.isOutstanding)
        XCTAssertEqual(k.plisSent, 1)
    }

    func testTenRequestsCostOnePLI() {
        var k = KeyframeRequester()
        var sent: [KeyframeRequester.Request] = []
        for ms in 0..<10 {
            k.request(now: at(Int64(ms)))
            if let r = k.poll(now: at(Int64(ms)), rtt: nil) { sent.append(r) }
        }
        XCTAssertEqual(sent, [.pli])
        XCTAssertEqual(k.requestsReceived, 10)
        XCTAssertEqual(k.coalesced, 9)
        XCTAssertEqual(k.plisSent, 1)
    }

    func testRetryWhenNoKeyframeWithin300ms() {
        var k = KeyframeRequester()
        k.request(now: at(0))
        XCTAssertEqual(k.poll(now: at(0), rtt: .milliseconds(40)), .pli)
        XCTAssertEqual(k.nextDeadline, at(300), "max(2 × 40 ms, 300 ms)")
        XCTAssertNil(k.poll(now: at(299), rtt: .milliseconds(40)))
        XCTAssertEqual(k.poll(now: at(300), rtt: .milliseconds(40)), .pli)
        XCTAssertEqual(k.retries, 1)
        XCTAssertEqual(k.plisSent, 2)

        // With a long round trip the wait is two RTTs.
        var far = KeyframeRequester()
        far.request(now: at(0))
        XCTAssertEqual(far.poll(now: at(0), rtt: .milliseconds(250)), .pli)
        XCTAssertEqual(far.nextDeadline, at(500))
        XCTAssertNil(far.poll(now: at(499), rtt: .milliseconds(250)))
        XCTAssertEqual(far.poll(now: at(500), rtt: .milliseconds(250)), .pli)
        XCTAssertEqual(far.retries, 1)
    }

    func testKeyframeClearsTheRequest() {
        var k = KeyframeRequester()
        k.request(now: at(0))
        XCTAssertEqual(k.poll(now: at(0), rtt: nil), .pli)
        k.keyframeArrived(now: at(120))
        XCTAssertFalse(k.isOutstanding)
        XCTAssertNil(k.nextDeadline)
        for ms in stride(from: Int64(120), through: 3_000, by: 10) { XCTAssertNil(k.poll(now: at(ms), rtt: nil)) }
        XCTAssertEqual(k.plisSent, 1)
        XCTAssertEqual(k.retries, 0)
        XCTAssertEqual(k.keyframes, 1)
    }

    func testAbandonedAfterMaxRetries() {
        var k = KeyframeRequester(maxRetries: 2)
        k.request(now: at(0))
        var times: [Int64] = []
        for ms in stride(from: Int64(0), through: 5_000, by: 10) where k.poll(now: at(ms), rtt: nil) != nil {
            times.append(ms)
        }
        XCTAssertEqual(times, [0, 300, 600])
        XCTAssertEqual(k.abandoned, 1)
        XCTAssertFalse(k.isOutstanding)
        // The next request starts anew (the last new one was long ago).
        k.request(now: at(5_000))
        XCTAssertEqual(k.poll(now: at(5_000), rtt: nil), .pli)
    }

    func testRequestSoonAfterAKeyframeWaitsForTheSecond() {
        var k = KeyframeRequester()
        k.keyframeArrived(now: at(0))   // e.g. an encoder's own keyframe
        k.request(now: at(300))
        XCTAssertTrue(k.isWaiting)
        XCTAssertEqual(k.nextDeadline, at(1_000))
        XCTAssertNil(k.poll(now: at(999), rtt: nil))
        XCTAssertEqual(k.poll(now: at(1_000), rtt: nil), .pli)
        // A keyframe while waiting answers the waiting request.
        k.keyframeArrived(now: at(1_100))
        k.request(now: at(1_200))
        k.keyframeArrived(now: at(1_500))
        XCTAssertFalse(k.isWaiting)
        XCTAssertNil(k.poll(now: at(2_600), rtt: nil))
        // Long after the last keyframe: at once.
        k.request(now: at(9_000))
        XCTAssertEqual(k.poll(now: at(9_000), rtt: nil), .pli)
        XCTAssertEqual(k.plisSent, 2)
    }

    /// One lossy subscriber asks every 50 ms for 10 s; the publisher answers
    /// each PLI with a keyframe 100 ms later. New requests go out at 0, 1.1,
    /// 2.2, … 9.9 s: ten PLIs, no retry.
    func testAtMostOneNewRequestPerSecond() {
        var k = KeyframeRequester()
        var keyframeAt: Instant?
        var sentAt: [Int64] = []
        for ms in stride(from: Int64(0), to: 10_000, by: 10) {
            let now = at(ms)
            if let due = keyframeAt, now >= due { k.keyframeArrived(now: now); keyframeAt = nil }
            if ms % 50 == 0 { k.request(now: now) }
            if k.poll(now: now, rtt: .milliseconds(50)) != nil {
                sentAt.append(ms)
                keyframeAt = now + .milliseconds(100)
            }
        }
        XCTAssertLessThanOrEqual(k.plisSent, 11)
        XCTAssertEqual(sentAt, [0, 1_100, 2_200, 3_300, 4_400, 5_500, 6_600, 7_700, 8_800, 9_900])
        XCTAssertEqual(k.retries, 0)
        XCTAssertEqual(k.requestsReceived, 200)
        XCTAssertEqual(k.keyframes, 9)
    }

    /// The same load on a publisher that never sends a keyframe: each new
    /// request is retried twice, then abandoned; still at most one new
    /// request per second.
    func testAtMostOneNewRequestPerSecondWithoutKeyframes() {
        var k = KeyframeRequester()
        var sentAt: [Int64] = []
        for ms in stride(from: Int64(0), to: 10_000, by: 10) {
            if ms % 50 == 0 { k.request(now: at(ms)) }
            if k.poll(now: at(ms), rtt: nil) != nil { sentAt.append(ms) }
        }
        let newRequests = k.plisSent - k.retries
        XCTAssertLessThanOrEqual(newRequests, 11)
        // New at 0, retries at 300 and 600, abandoned at 900, new at 1000 (1 s after the last new one), …
        XCTAssertEqual(newRequests, 10)
        XCTAssertEqual(Array(sentAt.prefix(6)), [0, 300, 600, 1_000, 1_300, 1_600])
        XCTAssertEqual(k.plisSent, 30)
        XCTAssertEqual(k.abandoned, 10, "the last one at 9.9 s")
    }

    func testFIRSequenceNumberIsNewPerRequestNotPerRetry() {
        var k = KeyframeRequester(useFIR: true)
        k.request(now: at(0))
        XCTAssertEqual(k.poll(now: at(0), rtt: nil), .fir(sequenceNumber: 0))
        k.request(now: at(100))   // coalesced
        XCTAssertEqual(k.poll(now: at(300), rtt: nil), .fir(sequenceNumber: 0), "a retry repeats the number")
        k.keyframeArrived(now: at(400))
        k.request(now: at(500))
        XCTAssertNil(k.poll(now: at(500), rtt: nil))
        XCTAssertEqual(k.poll(now: at(1_400), rtt: nil), .fir(sequenceNumber: 1))
        k.keyframeArrived(now: at(1_450))
        k.request(now: at(3_000))
        XCTAssertEqual(k.poll(now: at(3_000), rtt: nil), .fir(sequenceNumber: 2))
        XCTAssertEqual(k.firsSent, 4)
        XCTAssertEqual(k.plisSent, 0)
        XCTAssertEqual(k.retries, 1)
    }

    func testFIRSequenceWrapsAt256() {
        var k = KeyframeRequester(useFIR: true, minInterval: .milliseconds(0))
        var last: UInt8?
        for i in 0..<258 {
            k.request(now: at(Int64(i)))
            guard case .fir(let n)? = k.poll(now: at(Int64(i)), rtt: nil) else { return XCTFail("no FIR") }
            last = n
            k.keyframeArrived(now: at(Int64(i)))
        }
        XCTAssertEqual(last, 1, "0 … 255, 0, 1")
    }
}
