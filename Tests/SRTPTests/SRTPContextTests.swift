import Dispatch
import SRTP
import Wire
import XCTest
@testable import SRTP

final class SRTPContextTests: XCTestCase {
    let profiles = SRTPProtectionProfile.allCases

    func testRTPRoundTripEveryProfile() throws {
        for profile in profiles {
            let (server, client) = try pair(profile)
            for size in [0, 1, 160, 1100] {
                let plain = TestPacket.rtp(ssrc: 0x1111_2222, sequence: UInt16(size), payload: TestPacket.payload(size))
                var packet = plain
                try server.protectRTP(&packet)
                XCTAssertEqual(packet.count, plain.count + profile.rtpTagLength, "\(profile)")
                if size >= 16 { XCTAssertNotEqual(Array(packet[12..<plain.count]), Array(plain[12...]), "encrypted") }
                try client.unprotectRTP(&packet)
                XCTAssertEqual(packet, plain, "\(profile) size \(size)")
            }
        }
    }

    func testRTCPRoundTripEveryProfile() throws {
        for profile in profiles {
            let (server, client) = try pair(profile)
            for words in [2, 6, 100] {
                let plain = TestPacket.rtcp(ssrc: 0x3333_4444, words: words)
                var packet = plain
                try client.protectRTCP(&packet)
                // RFC 3711 §3.4: E|index, then the tag; 80 bits even for _32 (RFC 5764 §4.1.2).
                XCTAssertEqual(packet.count, plain.count + 4 + profile.rtcpTagLength, "\(profile)")
                try server.unprotectRTCP(&packet)
                XCTAssertEqual(packet, plain, "\(profile)")
            }
        }
    }

    func testRTCPTagIsEightyBitsForSHA1_32() {
        XCTAssertEqual(SRTPProtectionProfile.aes128CmHmacSha1_32.rtpTagLength, 4)
        XCTAssertEqual(SRTPProtectionProfile.aes128CmHmacSha1_32.rtcpTagLength, 10)
    }

    /// RFC 5764 §4.2: what the server sends is protected with the server
    /// write key, so only a context holding it as its inbound key opens it.
    func testKeyDirectionPairsServerWithClient() throws {
        for profile in profiles {
            let material = keyingMaterial(profile)
            let server = try SRTPContext(keyingMaterial: material, role: .dtlsServer)
            let client = try SRTPContext(keyingMaterial: material, role: .dtlsClient)
            let otherServer = try SRTPContext(keyingMaterial: material, role: .dtlsServer)
            let plain = TestPacket.rtp(ssrc: 7, sequence: 1, payload: TestPacket.payload(50))

            var toClient = plain
            try server.protectRTP(&toClient)
            var wrong = toClient
            XCTAssertThrowsError(try otherServer.unprotectRTP(&wrong)) {
                XCTAssertEqual($0 as? SRTPError, .authenticationFailed, "\(profile): server key opened by a server")
            }
            try client.unprotectRTP(&toClient)
            XCTAssertEqual(toClient, plain)

            var toServer = plain
            try client.protectRTP(&toServer)
            try server.unprotectRTP(&toServer)
            XCTAssertEqual(toServer, plain)

            // Explicit keys: the server's outbound key is the server write key.
            let explicit = try SRTPContext(profile: profile,
                                           outboundKey: material.clientWriteKey, outboundSalt: material.clientWriteSalt,
                                           inboundKey: material.serverWriteKey, inboundSalt: material.serverWriteSalt)
            var fromServer = plain
            try server.protectRTP(&fromServer)
            try explicit.unprotectRTP(&fromServer)
            XCTAssertEqual(fromServer, plain)
        }
    }

    /// One outbound context serves every forwarded source; libsrtp makes a
    /// stream per SSRC on demand, each with its own index and replay state.
    func testManySSRCsOnOneContext() throws {
        for profile in profiles {
            let (server, client) = try pair(profile)
            for round in 0..<20 {
                for ssrc in UInt32(1)...50 {
                    // Every SSRC uses the same sequence numbers: no cross-talk of replay state.
                    let plain = TestPacket.rtp(ssrc: ssrc &* 0x0101_0101, sequence: UInt16(round),
                                               payload: TestPacket.payload(40, seed: Int(ssrc)))
                    var packet = plain
                    try server.protectRTP(&packet)
                    try client.unprotectRTP(&packet)
                    XCTAssertEqual(packet, plain)
                }
            }
        }
    }

    func testReplayIsRejected() throws {
        for profile in profiles {
            let (server, client) = try pair(profile)
            var packets: [[UInt8]] = []
            for sequence in UInt16(100)..<1300 {
                var packet = TestPacket.rtp(ssrc: 9, sequence: sequence, payload: TestPacket.payload(20))
                try server.protectRTP(&packet)
                packets.append(packet)
            }
            var first = packets[0]
            try client.unprotectRTP(&first)
            var again = packets[0]
            XCTAssertThrowsError(try client.unprotectRTP(&again)) {
                XCTAssertEqual($0 as? SRTPError, .replayed, "\(profile)")
            }
            // Out of order within the window is fine; then it is a replay too.
            var late = packets[1]
            for i in 2..<packets.count {
                var p = packets[i]
                try client.unprotectRTP(&p)
            }
            // 1198 packets later, packet 1 is left of the 1024-packet window.
            XCTAssertThrowsError(try client.unprotectRTP(&late)) {
                XCTAssertEqual($0 as? SRTPError, .tooOld, "\(profile)")
            }

            var rtcp = TestPacket.rtcp(ssrc: 9)
            try server.protectRTCP(&rtcp)
            var rtcpAgain = rtcp
            try client.unprotectRTCP(&rtcp)
            XCTAssertThrowsError(try client.unprotectRTCP(&rtcpAgain)) {
                XCTAssertEqual($0 as? SRTPError, .replayed, "\(profile) SRTCP")
            }
        }
    }

    /// Reordering inside the window is accepted (RFC 3711 §3.3.2).
    func testReorderWithinWindowIsAccepted() throws {
        let (server, client) = try pair(.aeadAes128Gcm)
        var packets: [[UInt8]] = []
        for sequence in UInt16(0)..<600 {
            var packet = TestPacket.rtp(ssrc: 5, sequence: sequence, payload: TestPacket.payload(10))
            try server.protectRTP(&packet)
            packets.append(packet)
        }
        for i in stride(from: 599, through: 0, by: -1) {
            var p = packets[i]
            try client.unprotectRTP(&p)
        }
    }

    func testTamperedPacketIsRejected() throws {
        for profile in profiles {
            let (server, client) = try pair(profile)
            let plain = TestPacket.rtp(ssrc: 77, sequence: 5, payload: TestPacket.payload(100))
            var packet = plain
            try server.protectRTP(&packet)
            // A header bit, a payload bit, a tag bit.
            for index in [1, 5, 20, packet.count - 1] {
                var bad = packet
                bad[index] ^= 0x04
                XCTAssertThrowsError(try client.unprotectRTP(&bad)) {
                    XCTAssertEqual($0 as? SRTPError, .authenticationFailed, "\(profile) octet \(index)")
                }
            }
            // The untouched packet still opens: failures left no state behind.
            try client.unprotectRTP(&packet)
            XCTAssertEqual(packet, plain)

            var rtcp = TestPacket.rtcp(ssrc: 77)
            try server.protectRTCP(&rtcp)
            rtcp[12] ^= 0x80
            XCTAssertThrowsError(try client.unprotectRTCP(&rtcp)) {
                XCTAssertEqual($0 as? SRTPError, .authenticationFailed, "\(profile) SRTCP")
            }
        }
    }

    /// 70 000 packets across the 16-bit sequence wrap: the rollover counter
    /// (RFC 3711 §3.3.1) must advance on both sides.
    func testSequenceWrapKeepsRolloverCounterInStep() throws {
        for profile in profiles {
            let (server, client) = try pair(profile)
            var buffer: [UInt8] = []
            buffer.reserveCapacity(2048)
            var plain = TestPacket.rtp(ssrc: 0xABCD, sequence: 0, payload: TestPacket.payload(32))
            var sequence: UInt16 = 60_000
            for n in 0..<70_000 {
                plain.writeUInt16(sequence, at: 2)
                plain.writeUInt32(UInt32(n), at: 4)
                buffer.removeAll(keepingCapacity: true)
                buffer.append(contentsOf: plain)
                try server.protectRTP(&buffer)
                try client.unprotectRTP(&buffer)
                if buffer != plain { XCTFail("\(profile) packet \(n) seq \(sequence)"); return }
                sequence &+= 1
            }
            XCTAssertEqual(sequence, UInt16((60_000 + 70_000) % 65_536), "wrapped once")
        }
    }

    /// A plain NACK resend protects the same packet again: allowed, and
    /// it is the same bytes (same index, same payload).
    func testRetransmissionOfSamePacketIsAllowedOutbound() throws {
        for profile in profiles {
            let (server, _) = try pair(profile)
            let plain = TestPacket.rtp(ssrc: 3, sequence: 10, payload: TestPacket.payload(60))
            var first = plain, second = plain
            try server.protectRTP(&first)
            var later = TestPacket.rtp(ssrc: 3, sequence: 11, payload: TestPacket.payload(60))
            try server.protectRTP(&later)
            try server.protectRTP(&second)
            XCTAssertEqual(first, second, "\(profile)")
        }
    }

    func testRemovedInboundStreamStartsAfresh() throws {
        let (server, client) = try pair(.aes128CmHmacSha1_80)
        var packet = TestPacket.rtp(ssrc: 0x55, sequence: 1, payload: [1, 2, 3])
        try server.protectRTP(&packet)
        var copy = packet
        try client.unprotectRTP(&copy)
        XCTAssertTrue(client.removeInboundStream(ssrc: 0x55))
        XCTAssertFalse(client.removeInboundStream(ssrc: 0x55))
        copy = packet
        try client.unprotectRTP(&copy)  // no replay state any more
        XCTAssertTrue(server.removeOutboundStream(ssrc: 0x55))
    }

    func testWrongKeyLengthsAreRejected() {
        XCTAssertThrowsError(try SRTPContext(profile: .aeadAes256Gcm, outboundKey: [UInt8](repeating: 1, count: 16),
                                             outboundSalt: [UInt8](repeating: 1, count: 12),
                                             inboundKey: [UInt8](repeating: 1, count: 32),
                                             inboundSalt: [UInt8](repeating: 1, count: 12))) {
            XCTAssertEqual($0 as? SRTPError, .invalidKeyingMaterial(expectedKeyLength: 32, expectedSaltLength: 12))
        }
        XCTAssertThrowsError(try SRTPContext(profile: .aes128CmHmacSha1_80, outboundKey: [UInt8](repeating: 1, count: 16),
                                             outboundSalt: [UInt8](repeating: 1, count: 12),
                                             inboundKey: [UInt8](repeating: 1, count: 16),
                                             inboundSalt: [UInt8](repeating: 1, count: 14))) {
            XCTAssertEqual($0 as? SRTPError, .invalidKeyingMaterial(expectedKeyLength: 16, expectedSaltLength: 14))
        }
    }

    /// The raw API refuses a buffer without room for the trailer; the array
    /// API grows the array instead.
    func testCapacityRules() throws {
        let (server, client) = try pair(.aeadAes128Gcm)
        let plain = TestPacket.rtp(ssrc: 1, sequence: 1, payload: TestPacket.payload(100))
        var raw = [UInt8](repeating: 0, count: plain.count + SRTPContext.maximumTrailerLength - 1)
        raw.replaceSubrange(0..<plain.count, with: plain)
        XCTAssertThrowsError(try raw.withUnsafeMutableBytes { try server.protectRTP($0, length: plain.count) }) {
            XCTAssertEqual($0 as? SRTPError, .insufficientCapacity(needed: plain.count + SRTPContext.maximumTrailerLength,
                                                                   available: raw.count))
        }
        var tight = plain
        tight.reserveCapacity(0)
        try server.protectRTP(&tight)
        try client.unprotectRTP(&tight)
        XCTAssertEqual(tight, plain)
    }

    /// Many threads create and use their own contexts at once; `srtp_init`
    /// ran exactly once in the whole process.
    func testConcurrentContextsAndSingleInitialisation() throws {
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            do {
                let profile = SRTPProtectionProfile.allCases[worker % 4]
                let (server, client) = try pair(profile, seed: UInt8(worker))
                var buffer: [UInt8] = []
                buffer.reserveCapacity(1500)
                for sequence in UInt16(0)..<2000 {
                    let plain = TestPacket.rtp(ssrc: UInt32(worker), sequence: sequence, payload: TestPacket.payload(100))
                    buffer.removeAll(keepingCapacity: true)
                    buffer.append(contentsOf: plain)
                    try server.protectRTP(&buffer)
                    try client.unprotectRTP(&buffer)
                    if buffer != plain { failures.add("worker \(worker) seq \(sequence) differs") }
                }
            } catch {
                failures.add("worker \(worker): \(error)")
            }
        }
        XCTAssertEqual(failures.messages, [])
        XCTAssertEqual(LibSRTP.initialisationCount, 1)
    }
}

/// Failure messages collected from worker threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLockLike()
    private var list: [String] = []
    func add(_ message: String) { lock.withLock { list.append(message) } }
    var messages: [String] { lock.withLock { list } }
}

/// A pthread mutex, to avoid importing Foundation for one lock.
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
