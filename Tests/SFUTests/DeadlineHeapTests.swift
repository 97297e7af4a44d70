import CohortTestSupport
@testable import SFU
import Wire
import XCTest

/// The engine's timer heap: the earliest deadline of many owners, with
/// lazy invalidation, against a plain scan of the same deadlines.
final class DeadlineHeapTests: XCTestCase {
    final class Owner { let n: Int; init(_ n: Int) { self.n = n } }

    func testEarliestFollowsEveryChange() {
        var heap = DeadlineHeap<Owner>()
        let a = Owner(1), b = Owner(2), c = Owner(3)
        XCTAssertNil(heap.earliest())
        heap.schedule(a, at: .milliseconds(50))
        heap.schedule(b, at: .milliseconds(20))
        heap.schedule(c, at: .milliseconds(30))
        XCTAssertEqual(heap.earliest(), .milliseconds(20))
        heap.schedule(b, at: .milliseconds(70))  // moved later: its old entry is stale
        XCTAssertEqual(heap.earliest(), .milliseconds(30))
        heap.schedule(c, at: nil)  // no deadline any more
        XCTAssertEqual(heap.earliest(), .milliseconds(50))
        heap.schedule(b, at: .milliseconds(10))  // moved earlier
        XCTAssertEqual(heap.earliest(), .milliseconds(10))
        XCTAssertEqual(heap.count, 2)
    }

    func testPopDueTakesOnlyWhatIsDueInOrder() {
        var heap = DeadlineHeap<Owner>()
        let owners = (0..<5).map(Owner.init)
        for o in owners { heap.schedule(o, at: .milliseconds(UInt64(10 * (5 - o.n)))) }
        var popped: [Int] = []
        while let o = heap.popDue(now: .milliseconds(30)) { popped.append(o.n) }
        XCTAssertEqual(popped, [4, 3, 2], "due at 10, 20 and 30 ms, earliest first")
        XCTAssertEqual(heap.earliest(), .milliseconds(40))
        XCTAssertNil(heap.popDue(now: .milliseconds(39)))
        XCTAssertEqual(heap.count, 2)
    }

    /// Random schedules and pops against a dictionary scanned each time;
    /// stale entries stay bounded.
    func testMatchesAScanUnderRandomChanges() {
        var heap = DeadlineHeap<Owner>()
        var truth: [Int: Instant] = [:]
        let owners = (0..<40).map(Owner.init)
        var random = SeededRandom(seed: 7)
        var now = Instant.zero
        for step in 0..<20_000 {
            let o = owners[Int(random.next() % 40)]
            switch random.next() % 5 {
            case 0: truth[o.n] = nil; heap.schedule(o, at: nil)
            case 1:
                now = now + .milliseconds(Int64(random.next() % 5))
                while let due = heap.popDue(now: now) {
                    XCTAssertNotNil(truth[due.n])
                    XCTAssertLessThanOrEqual(truth[due.n]!, now)
                    truth[due.n] = nil
                }
                XCTAssertTrue(truth.values.allSatisfy { $0 > now }, "step \(step): a due owner was left behind")
            default:
                let at = now + .milliseconds(Int64(random.next() % 100))
                truth[o.n] = at
                heap.schedule(o, at: at)
            }
            XCTAssertEqual(heap.earliest(), truth.values.min(), "step \(step)")
            XCTAssertEqual(heap.count, truth.count)
        }
    }
}
