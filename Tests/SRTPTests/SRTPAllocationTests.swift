import CCohortSRTP
import CohortMallocCounter
import Wire
import XCTest
@testable import SRTP

/// Steady-state protect + unprotect on a reused buffer adds no allocation.
///
/// Debian's libsrtp2 is built on NSS, which itself allocates on every packet
/// (a PK11 context per IV: about 28 allocations per AES-CM round trip and
/// 10 per GCM one), and how many depends a little on NSS's free lists. So
/// the test counts every allocation the thread makes (CohortMallocCounter
/// replaces malloc in the test executable), alternates the Swift API with
/// the same loop calling libsrtp's C functions directly on sessions with
/// the same policy, and requires equal counts once both are warm: the
/// wrapper's share is zero.
final class SRTPAllocationTests: XCTestCase {
    func testCounterSeesAnAllocation() {
        var sink: [[UInt8]] = []
        sink.reserveCapacity(10)
        cohort_malloc_counter_start()
        for i in 0..<5 { sink.append([UInt8](repeating: UInt8(i), count: 100)) }
        XCTAssertEqual(cohort_malloc_counter_stop(), 5)
    }

    func testProtectUnprotectLoopAddsNoAllocation() throws {
        for profile in SRTPProtectionProfile.allCases {
            let bench = try Loops(profile: profile, payload: 160)
            // 100 000 round trips for the profile browsers pick first, 30 000 for the others.
            let n = profile == .aeadAes128Gcm ? 25_000 : 7_500
            var wrapped = 0, direct = 0
            for _ in 0..<4 {
                wrapped = try bench.arrayAPI(n, injectAllocation: false)
                direct = bench.libsrtpDirect(n)
            }
            XCTAssertEqual(wrapped, direct, "\(profile): \(wrapped) allocations vs \(direct) in libsrtp alone")

            // The check can fail: one extra allocation in the loop is seen.
            let injected = try bench.arrayAPI(n, injectAllocation: true)
            let directAgain = bench.libsrtpDirect(n)
            XCTAssertEqual(injected, directAgain + 1, "\(profile)")
        }
    }

    func testRawBufferAPIAddsNoAllocation() throws {
        let bench = try Loops(profile: .aeadAes256Gcm, payload: 1100)
        var raw = 0, direct = 0
        for _ in 0..<4 {
            raw = try bench.rawAPI(2000)
            direct = bench.libsrtpDirect(2000)
        }
        XCTAssertEqual(raw, direct)
    }
}

/// The measured loops: one Swift context pair and one pair of bare libsrtp
/// sessions with the same keys and policy, each warmed up by a first packet.
private final class Loops {
    let server: SRTPContext, client: SRTPContext
    let sender: LibSRTPSession, receiver: LibSRTPSession
    var array: [UInt8] = []
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    let length: Int
    var sequence: UInt16 = 0

    init(profile: SRTPProtectionProfile, payload: Int) throws {
        (server, client) = try pair(profile)
        let material = keyingMaterial(profile)
        sender = try LibSRTPSession(profile: profile, key: material.serverWriteKey,
                                    salt: material.serverWriteSalt, direction: .outbound)
        receiver = try LibSRTPSession(profile: profile, key: material.serverWriteKey,
                                      salt: material.serverWriteSalt, direction: .inbound)
        let plain = TestPacket.rtp(ssrc: 0xA110C, sequence: 0, payload: TestPacket.payload(payload))
        length = plain.count
        array.reserveCapacity(1500)
        array.append(contentsOf: plain)
        storage.copyBytes(from: plain)
        _ = try arrayAPI(1, injectAllocation: false)
        _ = try rawAPI(1)
        _ = libsrtpDirect(1)
    }

    deinit { storage.deallocate() }

    /// Allocations of `n` round trips through the `inout [UInt8]` API.
    func arrayAPI(_ n: Int, injectAllocation: Bool) throws -> Int {
        var sink: [UInt8] = []
        cohort_malloc_counter_start()
        for i in 0..<n {
            sequence &+= 1
            array.writeUInt16(sequence, at: 2)
            try server.protectRTP(&array)
            try client.unprotectRTP(&array)
            if injectAllocation && i == n / 2 { sink = [UInt8](repeating: 1, count: 8) }
        }
        let count = cohort_malloc_counter_stop()
        precondition(array.count == length && sink.count == (injectAllocation ? 8 : 0))
        return count
    }

    /// Allocations of `n` round trips through the raw-buffer API.
    func rawAPI(_ n: Int) throws -> Int {
        var octets = length
        cohort_malloc_counter_start()
        for _ in 0..<n {
            sequence &+= 1
            storage.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
            octets = try server.protectRTP(storage, length: length)
            octets = try client.unprotectRTP(storage, length: octets)
        }
        let count = cohort_malloc_counter_stop()
        precondition(octets == length)
        return count
    }

    /// Allocations of `n` round trips calling `srtp_protect`/`srtp_unprotect` directly.
    func libsrtpDirect(_ n: Int) -> Int {
        cohort_malloc_counter_start()
        for _ in 0..<n {
            sequence &+= 1
            storage.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
            var octets = Int32(length)
            precondition(srtp_protect(sender.handle, storage.baseAddress, &octets) == srtp_err_status_ok)
            precondition(srtp_unprotect(receiver.handle, storage.baseAddress, &octets) == srtp_err_status_ok)
        }
        return cohort_malloc_counter_stop()
    }
}
