import CohortMallocCounter
import XCTest
@testable import SRTP

final class SRTPAllocationTests: XCTestCase {
    func testCounterSeesAnAllocation() {
        var sink: [[UInt8]] = []
        sink.reserveCapacity(10)
        cohort_malloc_counter_start()
        for i in 0..<5 { sink.append([UInt8](repeating: UInt8(i), count: 100)) }
        let n = cohort_malloc_counter_stop()
        XCTAssertEqual(n, 5)
    }
}
