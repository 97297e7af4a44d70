import CohortMallocCounter
import RTP
import Wire
import XCTest
@testable import SFU

/// The packet cache with a manual clock: lookups, the ring's wrap-around,
/// replaced slots, age expiry, duplicates, and no allocation once warm.
final class PacketCacheTests: XCTestCase {
    private let t0 = Instant.milliseconds(1_000)

    private func packet(_ sequence: UInt16, length: Int = 20) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ Int(sequence)) }
    }

    private func stored(_ cache: inout PacketCache, _ sequence: UInt16, at now: Instant) -> [UInt8]? {
        cache.packet(sequence: sequence, now: now).map { Array($0) }
    }

    func testStoresACopyAndServesIt() {
        var cache = PacketCache()
        var original = packet(7)
        XCTAssertEqual(cache.insert(original, sequence: 7, now: t0), .stored)
        original[0] = 0xFF  // the cache holds its own copy
        XCTAssertEqual(stored(&cache, 7, at: t0 + .milliseconds(5)), packet(7))
        XCTAssertNil(stored(&cache, 8, at: t0))
        XCTAssertEqual(cache.hits, 1)
        XCTAssertEqual(cache.misses, 1)
    }

    func testWrapAroundKeepsTheLastCapacityPackets() {
        var cache = PacketCache(capacity: 8)
        let sequences: [UInt16] = [65_532, 65_533, 65_534, 65_535, 0, 1, 2, 3]
        for s in sequences { XCTAssertEqual(cache.insert(packet(s), sequence: s, now: t0), .stored) }
        for s in sequences { XCTAssertEqual(stored(&cache, s, at: t0), packet(s), "seq \(s)") }
        // 4 takes the slot of 65532 (65532 & 7 == 4).
        XCTAssertEqual(cache.insert(packet(4), sequence: 4, now: t0), .stored)
        XCTAssertNil(stored(&cache, 65_532, at: t0))
        XCTAssertEqual(stored(&cache, 4, at: t0), packet(4))
        XCTAssertEqual(stored(&cache, 65_533, at: t0), packet(65_533))
        XCTAssertEqual(cache.hits, 10)
        XCTAssertEqual(cache.misses, 1)
    }

    func testReplacedSlotReturnsNil() {
        var cache = PacketCache(capacity: 4)
        for s: UInt16 in 100...104 { cache.insert(packet(s), sequence: s, now: t0) }
        XCTAssertNil(stored(&cache, 100, at: t0), "104 replaced 100 in slot 0")
        XCTAssertFalse(cache.contains(sequence: 100, now: t0))
        XCTAssertEqual(stored(&cache, 104, at: t0), packet(104))
        XCTAssertEqual(stored(&cache, 101, at: t0), packet(101))
    }

    func testAgeExpiry() {
        var cache = PacketCache()
        cache.insert(packet(1), sequence: 1, now: t0)
        XCTAssertEqual(stored(&cache, 1, at: t0 + .milliseconds(1_000)), packet(1), "exactly maxAge is still served")
        XCTAssertNil(stored(&cache, 1, at: t0 + .milliseconds(1_001)))
        var short = PacketCache(maxAge: .milliseconds(200))
        short.insert(packet(1), sequence: 1, now: t0)
        XCTAssertTrue(short.contains(sequence: 1, now: t0 + .milliseconds(200)))
        XCTAssertFalse(short.contains(sequence: 1, now: t0 + .milliseconds(201)))
    }

    func testDuplicateIsIgnoredAndReported() {
        var cache = PacketCache()
        XCTAssertEqual(cache.insert(packet(9), sequence: 9, now: t0), .stored)
        var again = packet(9)
        again[19] = 0xEE  // another payload, the same header: a retransmission
        XCTAssertEqual(cache.insert(again, sequence: 9, now: t0 + .milliseconds(30)), .duplicate)
        XCTAssertEqual(stored(&cache, 9, at: t0 + .milliseconds(30)), packet(9), "the first copy stays")
        XCTAssertEqual(cache.duplicates, 1)
        // Once expired, the same number is a new packet (e.g. after 65536 more).
        XCTAssertEqual(cache.insert(again, sequence: 9, now: t0 + .seconds(2)), .stored)
        XCTAssertEqual(stored(&cache, 9, at: t0 + .seconds(2)), again)
    }

    /// A publisher that restarts its numbering (a new encoder, a rejoin on
    /// the same SSRC) reuses sequence numbers with other timestamps: those
    /// are new packets, stored and forwarded, not duplicates dropped for a second.
    func testTheSameNumberWithAnotherTimestampIsANewPacket() {
        var cache = PacketCache()
        XCTAssertEqual(cache.insert(packet(9), sequence: 9, now: t0), .stored)
        let restarted = packet(99)  // bytes 4-7 differ: another RTP timestamp
        XCTAssertNotEqual(Array(restarted[4..<8]), Array(packet(9)[4..<8]))
        XCTAssertEqual(cache.insert(restarted, sequence: 9, now: t0 + .milliseconds(30)), .stored)
        XCTAssertEqual(stored(&cache, 9, at: t0 + .milliseconds(30)), restarted)
        XCTAssertEqual(cache.duplicates, 0)
    }

    func testLatePacketDoesNotReplaceANewerOne() {
        var cache = PacketCache(capacity: 4)
        cache.insert(packet(8), sequence: 8, now: t0)
        XCTAssertEqual(cache.insert(packet(4), sequence: 4, now: t0), .tooOld)
        XCTAssertEqual(stored(&cache, 8, at: t0), packet(8))
        XCTAssertEqual(cache.tooOld, 1)
        // When the newer one has expired, the slot is free for anything.
        XCTAssertEqual(cache.insert(packet(4), sequence: 4, now: t0 + .seconds(2)), .stored)
    }

    func testRemoveAllForgetsButKeepsBuffers() {
        var cache = PacketCache(capacity: 4, slotBytes: 100)
        for s: UInt16 in 0..<4 { cache.insert(packet(s), sequence: s, now: t0) }
        let reserved = cache.reservedBytes
        XCTAssertGreaterThanOrEqual(reserved, 400)
        cache.removeAll()
        XCTAssertFalse(cache.contains(sequence: 2, now: t0))
        XCTAssertEqual(cache.reservedBytes, reserved)
    }

    /// Array capacities may round up to the allocator's size classes, so
    /// these compare with `>=` and with the previous value.
    func testSlotBufferGrowsOnlyForALargerPacket() {
        var cache = PacketCache(capacity: 4, slotBytes: 100)
        XCTAssertEqual(cache.reservedBytes, 0, "nothing until a slot is used")
        cache.insert(packet(0, length: 60), sequence: 0, now: t0)
        let first = cache.reservedBytes
        XCTAssertGreaterThanOrEqual(first, 100)
        XCTAssertLessThan(first, 150)
        cache.insert(packet(4, length: 100), sequence: 4, now: t0)
        XCTAssertEqual(cache.reservedBytes, first, "fits the slot's array")
        cache.insert(packet(8, length: 400), sequence: 8, now: t0)
        let grown = cache.reservedBytes
        XCTAssertGreaterThanOrEqual(grown, 400)
        XCTAssertEqual(stored(&cache, 8, at: t0), packet(8, length: 400))
        cache.insert(packet(12, length: 10), sequence: 12, now: t0)
        XCTAssertEqual(stored(&cache, 12, at: t0), packet(12, length: 10), "a shorter packet in a longer array")
        XCTAssertEqual(cache.reservedBytes, grown)
    }

    func testPacketIsLentAsAnExactArray() throws {
        var cache = PacketCache(slotBytes: 1_500)
        let original = try RTPPacketBuilder(payloadType: 96, sequenceNumber: 300, timestamp: 9, ssrc: 1)
            .build(payload: [1, 2, 3])
        cache.insert(original, sequence: 300, now: t0)
        let lent = try XCTUnwrap(cache.packet(sequence: 300, now: t0))
        XCTAssertEqual(lent, original)
        XCTAssertEqual(try RTPHeader(parsing: lent).payloadRange, 12..<15)
        XCTAssertNil(cache.packet(sequence: 301, now: t0))
        XCTAssertNil(cache.packet(sequence: 300, now: t0 + .milliseconds(1_001)))
        XCTAssertEqual(cache.hits, 1)
        XCTAssertEqual(cache.misses, 2)
    }

    func testReservedBytesStayFlatOverManyPackets() {
        var cache = PacketCache()
        var now = t0
        for s in 0..<512 { cache.insert(packet(UInt16(s), length: 1_200), sequence: UInt16(s), now: now) }
        let warm = cache.reservedBytes
        XCTAssertGreaterThanOrEqual(warm, 512 * PacketCache.defaultSlotBytes)
        XCTAssertLessThan(warm, 512 * 2 * PacketCache.defaultSlotBytes)
        // 100 000 packets (wrapping the sequence space) of 100 to 1500 bytes.
        let sizes = (1...15).map { packet(0, length: 100 * $0) }
        var sequence: UInt16 = 512
        for i in 0..<100_000 {
            now = now + .microseconds(6_000)
            cache.insert(sizes[i % sizes.count], sequence: sequence, now: now)
            sequence &+= 1
        }
        XCTAssertEqual(cache.reservedBytes, warm)
    }

    /// STYLE.md "Store once, send by index": once every slot has its array,
    /// the NACK path allocates nothing (counted by CohortMallocCounter):
    /// insert, lookup, header parse and the RTX copy into send memory.
    func testInsertLookupAndRTXWriteAllocateNothingOnceWarm() throws {
        let packets = try (0..<4).map {
            try RTPPacketBuilder(payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 7,
                                 extensions: [.init(id: 1, data: [0x9E])])
                .build(payload: [UInt8](repeating: 0x5A, count: 400 + 300 * $0))
        }
        var sendMemory = [UInt8](repeating: 0, count: 2_048)
        var cache = PacketCache()
        var sequence: UInt16 = 0
        var now = t0

        cohort_malloc_counter_start()
        for i in 0..<cache.capacity {
            cache.insert(packets[i & 3], sequence: sequence, now: now)
            sequence &+= 1
        }
        let firstPass = cohort_malloc_counter_stop()
        // The check can fail: the first pass allocates one buffer per slot.
        XCTAssertGreaterThanOrEqual(firstPass, cache.capacity)

        var served = 0, written = 0
        func step(_ i: Int) {
            now = now + .microseconds(5_000)
            cache.insert(packets[i & 3], sequence: sequence, now: now)
            served += cache.packet(sequence: sequence &- 100, now: now)?.count ?? 0
            if let original = cache.packet(sequence: sequence &- 50, now: now),
               let header = try? RTPHeader(parsing: original) {
                written += sendMemory.withUnsafeMutableBytes {
                    RTXPacket.write(original: original, header: header, into: $0, ssrc: 9, sequence: UInt16(i & 0xFFFF),
                                    timestamp: 0, payloadType: 97, originalSequence: sequence &- 50)
                }
            }
            sequence &+= 1
        }
        // One-time costs (the runtime's lazy type metadata) are not per packet.
        for i in 0..<100 { step(i) }
        cohort_malloc_counter_start()
        for i in 100..<20_100 { step(i) }
        let steady = cohort_malloc_counter_stop()
        XCTAssertEqual(steady, 0, "allocations in 20 000 inserts, lookups and RTX writes")
        XCTAssertEqual(cache.hits, 40_200)
        XCTAssertGreaterThan(served, 0)
        XCTAssertGreaterThan(written, 20_000 * 400)
    }
}
