import RTP
import STUN
import XCTest
@testable import SFU

final class TransmitQueueTests: XCTestCase {
    let a = StunAddress("10.0.0.1:5000")!
    let b = StunAddress("10.0.0.2:5002")!

    func testAppendKeepsOrderBytesAndDestinations() {
        var q = TransmitQueue()
        q.append([1, 2, 3], to: a)
        q.append(Transmit(bytes: [4, 5, 6, 7, 8], destination: b))
        XCTAssertEqual(q.count, 2)
        XCTAssertEqual(q.map(\.bytes), [[1, 2, 3], [4, 5, 6, 7, 8]])
        XCTAssertEqual(q.map(\.destination), [a, b])
        // Each datagram starts aligned for libsrtp, and the storage covers them all.
        XCTAssertEqual(q.entries.map(\.offset), [0, 8])
        XCTAssertEqual(q.used, 13)
        let all = q.withStorage { Array($0) }
        XCTAssertEqual(Array(all[8..<13]), [4, 5, 6, 7, 8])
    }

    func testAppendDatagramWritesInPlaceAndNilQueuesNothing() {
        var q = TransmitQueue(reservingDatagrams: 1, bytesEach: 4)
        q.appendDatagram(to: a, capacity: 64) { out in
            XCTAssertEqual(out.count, 64)
            XCTAssertEqual(Int(bitPattern: out.baseAddress) % 4, 0)
            for i in 0..<10 { out[i] = UInt8(i) }
            return 10
        }
        q.appendDatagram(to: b, capacity: 32) { _ in nil }
        XCTAssertEqual(q.count, 1)
        XCTAssertEqual(q[0].bytes, Array(0..<10))
        XCTAssertEqual(q.used, 10)
    }

    func testRemoveAllEmptiesAndStorageIsReused() {
        var q = TransmitQueue(reservingDatagrams: 4, bytesEach: 100)
        q.append([UInt8](repeating: 7, count: 100), to: a)
        q.removeAll()
        XCTAssertTrue(q.isEmpty)
        XCTAssertEqual(q.used, 0)
        q.append([9, 9], to: b)
        XCTAssertEqual(q.map(\.bytes), [[9, 9]])
        XCTAssertEqual(q.map(\.destination), [b])
    }
}

final class ForwardedPacketTests: XCTestCase {
    /// RFC 3550 §5.1 fields rewritten, payload untouched, and RFC 8285 §4.2
    /// one-byte ids renumbered: audio level (index 1) from id 1 to 5,
    /// abs-send-time (index 2, not negotiated by the subscriber) and an
    /// unknown id 3 to 15.
    func testRewritesHeaderAndRemapsOneByteExtensionIDs() throws {
        let packet = try RTPPacketBuilder(
            payloadType: 111, sequenceNumber: 100, timestamp: 9_000, ssrc: 0xAAAA_AAAA, marker: true,
            extensions: [.init(id: 1, data: [0x9E]), .init(id: 2, data: [1, 2, 3]), .init(id: 3, data: [4])])
            .build(payload: [0xDE, 0xAD, 0xBE, 0xEF])
        let header = try RTPHeader(parsing: packet)
        var indexByID = [UInt8](repeating: 0, count: 16)
        indexByID[1] = 1
        indexByID[2] = 2
        var out = [UInt8](repeating: 0xFF, count: packet.count + 16)
        let length = out.withUnsafeMutableBytes {
            ForwardedPacket.write(packet, header: header, into: $0, ssrc: 0x0102_0304, sequence: 7, timestamp: 42,
                                  payloadType: 96, remap: (indexByID, [5, 0]))
        }
        XCTAssertEqual(length, packet.count)
        let copy = Array(out[..<length])
        let h = try RTPHeader(parsing: copy)
        XCTAssertEqual(h.ssrc, 0x0102_0304)
        XCTAssertEqual(h.sequenceNumber, 7)
        XCTAssertEqual(h.timestamp, 42)
        XCTAssertEqual(h.payloadType, 96)
        XCTAssertTrue(h.marker)
        XCTAssertEqual(Array(copy[h.payloadRange]), [0xDE, 0xAD, 0xBE, 0xEF])
        XCTAssertEqual(h.extensionElement(id: 5, in: copy).map { Array(copy[$0]) }, [0x9E])
        // Element headers in order: level now 5, the other two 15 (length nibbles kept).
        let starts = header.extensionElements(in: packet).map { $0.range.lowerBound - 1 }
        XCTAssertEqual(starts.map { copy[$0] >> 4 }, [5, 15, 15])
        XCTAssertEqual(starts.map { copy[$0] & 0x0F }, starts.map { packet[$0] & 0x0F })
        XCTAssertEqual(out[length], 0xFF, "nothing written past the packet")

        // Without a remap the extension block is copied as is.
        let plain = out.withUnsafeMutableBytes {
            ForwardedPacket.write(packet, header: header, into: $0, ssrc: 1, sequence: 2, timestamp: 3,
                                  payloadType: 111, remap: nil)
        }
        XCTAssertEqual(Array(out[header.extensionRange]), Array(packet[header.extensionRange]))
        XCTAssertEqual(plain, packet.count)
    }
}
