import XCTest
import Wire
import CohortTestSupport
@testable import STUN

/// Peer input that is cut, lies about lengths, or was tampered with must
/// come back as a typed `StunError`, never a trap.
final class StunMalformedInputTests: XCTestCase {
    private let password = RFC5769Tests.shortTermPassword

    private func parseError(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> StunError? {
        do {
            _ = try StunParsedMessage(parsing: bytes)
            XCTFail("parsed malformed input", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testTruncationAtEveryByte() {
        for vector in RFC5769Tests.allVectors {
            for n in 0..<vector.count {
                let expected = StunError.truncated(needed: n < 20 ? 20 : vector.count, available: n)
                XCTAssertEqual(parseError(Array(vector[0..<n])), expected, "cut at \(n)")
            }
        }
    }

    func testHeaderLengthThatOverrunsTheDatagram() {
        var bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(bytes.readUInt16(at: 2) + 4, at: 2)
        XCTAssertEqual(parseError(bytes), .truncated(needed: 112, available: 108))
        bytes.writeUInt16(0xFFFC, at: 2)
        XCTAssertEqual(parseError(bytes), .truncated(needed: 0xFFFC + 20, available: 108))
    }

    func testHeaderLengthShorterThanTheDatagram() {
        var bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(bytes.readUInt16(at: 2) - 8, at: 2)
        XCTAssertEqual(parseError(bytes), .trailingBytes(count: 8))
    }

    func testHeaderLengthNotMultipleOfFour() {
        for delta: UInt16 in [1, 2, 3] {
            var bytes = RFC5769Tests.sampleRequest
            bytes.writeUInt16(0x58 - delta, at: 2)
            XCTAssertEqual(parseError(bytes), .badLength(Int(0x58 - delta)))
        }
    }

    func testAttributeLengthThatOverrunsTheMessage() {
        // USERNAME (at offset 60) claims 0x30 bytes; only 44 remain.
        var bytes = RFC5769Tests.sampleRequest
        XCTAssertEqual(bytes.readUInt16(at: 60), 0x0006)
        bytes.writeUInt16(0x30, at: 62)
        XCTAssertEqual(parseError(bytes), .attributeOverrun(type: 0x0006, offset: 60))
        // FINGERPRINT claims 5 bytes: with padding, 8, past the end.
        bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(5, at: 102)
        XCTAssertEqual(parseError(bytes), .attributeOverrun(type: 0x8028, offset: 100))
        // Maximum length on the first attribute.
        bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(0xFFFF, at: 22)
        XCTAssertEqual(parseError(bytes), .attributeOverrun(type: 0x8022, offset: 20))
    }

    func testAttributeLengthsThatLieWithinTheMessage() {
        // PRIORITY says 8: the value runs into ICE-CONTROLLED's header.
        var bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(8, at: 42)
        XCTAssertEqual(parseError(bytes), .invalidAttribute(type: 0x0024, reason: "length 8, expected 4"))
        // MESSAGE-INTEGRITY says 16: the rest no longer frames.
        bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(16, at: 78)
        XCTAssertEqual(parseError(bytes), .invalidAttribute(type: 0x0008, reason: "length 16, expected 20"))
        // XOR-MAPPED-ADDRESS of the IPv4 response claims IPv6 length.
        bytes = RFC5769Tests.sampleIPv4Response
        XCTAssertEqual(bytes.readUInt16(at: 36), 0x0020)
        bytes[41] = 0x02
        XCTAssertEqual(parseError(bytes), .invalidAttribute(type: 0x0020, reason: "IPv6 length 8"))
        bytes[41] = 0x07
        XCTAssertEqual(parseError(bytes), .invalidAttribute(type: 0x0020, reason: "address family 7"))
    }

    func testSoftwareLengthShortenedMisframesTheRest() {
        // SOFTWARE 16 -> 12: the 4 bytes "ient" become an attribute header
        // (type 0x6965, length 0x6e74 = 28276), which overruns.
        var bytes = RFC5769Tests.sampleRequest
        bytes.writeUInt16(12, at: 22)
        XCTAssertEqual(parseError(bytes), .attributeOverrun(type: 0x6965, offset: 36))
    }

    func testWrongMagicCookie() {
        var bytes = RFC5769Tests.sampleRequest
        bytes[7] ^= 0x01
        XCTAssertEqual(parseError(bytes), .badMagicCookie(0x2112_A443))
        // An RFC 3489 message (no cookie) is rejected the same way.
        bytes.writeUInt32(0x1234_5678, at: 4)
        XCTAssertEqual(parseError(bytes), .badMagicCookie(0x1234_5678))
        XCTAssertFalse(StunMessage.isStun(bytes))
    }

    func testOtherProtocolsAreNotStun() {
        // RTP/RTCP first bytes and anything with the top bits set (RFC 7983).
        for first: UInt8 in [0x80, 0xC0, 0x40, 0xFF] {
            var bytes = RFC5769Tests.sampleRequest
            bytes[0] = first
            XCTAssertEqual(parseError(bytes), .notStun)
            XCTAssertFalse(StunMessage.isStun(bytes))
        }
        XCTAssertEqual(parseError([0x80]), .notStun)
        // A DTLS record header (content type 22, version 0xFEFD) keeps the
        // top bits clear; the magic cookie is what rejects it.
        let dtls: [UInt8] = [0x16, 0xFE, 0xFD, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10]
            + [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(parseError(dtls), .badMagicCookie(0))
        XCTAssertEqual(parseError([]), .truncated(needed: 20, available: 0))
    }

    func testAttributeAfterFingerprintIsRejected() {
        var bytes = RFC5769Tests.sampleRequest
        bytes += [0x80, 0x22, 0x00, 0x00]
        bytes.writeUInt16(bytes.readUInt16(at: 2) + 4, at: 2)
        XCTAssertEqual(parseError(bytes), .attributeAfterFingerprint(type: 0x8022))
    }

    func testTamperedIntegrityIsDetectedAtEveryCoveredByte() throws {
        // Every bit before MESSAGE-INTEGRITY's value, and in it, is covered.
        // The header's length field is excluded: changing it breaks framing first.
        let vector = RFC5769Tests.sampleRequest
        var checked = 0
        for index in 0..<100 where !(2..<4).contains(index) {
            for bit in 0..<8 {
                var bytes = vector
                bytes[index] ^= 1 << bit
                guard let parsed = try? StunParsedMessage(parsing: bytes) else { continue }
                XCTAssertThrowsError(try parsed.checkIntegrity(password: password), "byte \(index) bit \(bit)") {
                    XCTAssertTrue([.integrityMismatch, .integrityMissing].contains($0 as? StunError), "\($0)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 600)
    }

    func testTamperedFingerprintIsDetectedAtEveryByte() throws {
        for vector in RFC5769Tests.allVectors.prefix(3) {
            for index in 0..<vector.count where !(2..<4).contains(index) {
                var bytes = vector
                bytes[index] ^= 0x5A
                guard let parsed = try? StunParsedMessage(parsing: bytes) else { continue }
                XCTAssertThrowsError(try parsed.checkFingerprint(), "byte \(index)") {
                    XCTAssertTrue([.fingerprintMismatch, .fingerprintMissing].contains($0 as? StunError), "\($0)")
                }
            }
        }
    }

    func testTamperedMessageIntegrityValue() throws {
        var bytes = RFC5769Tests.sampleIPv4Response
        bytes[60] ^= 0x80   // inside the HMAC value (attribute at 52, value 56..<76)
        let parsed = try StunParsedMessage(parsing: bytes)
        XCTAssertThrowsError(try parsed.checkIntegrity(password: password)) {
            XCTAssertEqual($0 as? StunError, .integrityMismatch)
        }
        XCTAssertThrowsError(try parsed.checkFingerprint()) { XCTAssertEqual($0 as? StunError, .fingerprintMismatch) }
        XCTAssertThrowsError(try parsed.checkFingerprintAndIntegrity(password: password)) {
            XCTAssertEqual($0 as? StunError, .fingerprintMismatch)
        }
    }

    /// Seeded mutations of valid messages: bit flips, byte overwrites, cuts,
    /// insertions, deletions, and lying length fields. Nothing may trap,
    /// every failure is a `StunError` (the parser's typed throws guarantee
    /// the type; this checks the cases), and everything that parses must
    /// survive the integrity checks and a rebuild (`StunFuzz.run`).
    func testRandomMutationsNeverTrap() throws {
        var rng = SeededRandom(seed: 0x5354_554E)
        var seeds = RFC5769Tests.allVectors
        let request = StunMessage(type: .bindingRequest, transactionID: .random(using: &rng), attributes: [
            .username("abcd:efgh"), .priority(1), .useCandidate, .iceControlling(42),
            .errorCode(.roleConflict), .unknownAttributes([0x7777, 0x8888]),
            .mappedAddress(StunAddress("[::1]:9")!), .other(type: 0x7F00, value: [1, 2, 3]),
        ])
        seeds.append(try request.encode(password: password))

        var parsedCount = 0, errors: [String: Int] = [:]
        let iterations = 12_000
        for i in 0..<iterations {
            var bytes = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                mutate(&bytes, &rng)
            }
            do {
                let parsed = try StunParsedMessage(parsing: bytes)
                parsedCount += 1
                _ = try? parsed.checkFingerprint()
                _ = try? parsed.checkIntegrity(password: password)
            } catch {
                errors[String(describing: error).prefix { $0 != "(" }.description, default: 0] += 1
            }
            StunFuzz.run(bytes)
        }
        print("mutations: \(parsedCount) parsed, errors \(errors)")
        // The mutations must reach both sides of the parser.
        XCTAssertGreaterThan(parsedCount, iterations / 20, "\(errors)")
        XCTAssertGreaterThan(errors.count, 5, "\(errors)")
    }

    /// The fuzz entry point on the vectors (full path: parse, checks,
    /// rebuild) and on short or foreign input.
    func testFuzzEntryPoint() {
        for vector in RFC5769Tests.allVectors {
            XCTAssertTrue(StunMessage.isStun(vector))
            StunFuzz.run(vector)
        }
        for input: [UInt8] in [[], [0], Array("[::1]:5000".utf8), Array("127.0.0.1:5000".utf8),
                               [UInt8](repeating: 0xFF, count: 100), [0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42] + Array(1...12)] {
            StunFuzz.run(input)
        }
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SeededRandom) {
        func index() -> Int { bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count)) }
        switch rng.next() % 8 {
        case 0 where !bytes.isEmpty:
            bytes[index()] ^= 1 << UInt8(rng.next() % 8)
        case 1 where !bytes.isEmpty:
            bytes[index()] = UInt8(truncatingIfNeeded: rng.next())
        case 2:
            bytes.removeLast(bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count)))
        case 3:
            bytes.insert(contentsOf: (0..<(1 + rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                         at: index())
        case 4 where !bytes.isEmpty:
            bytes.remove(at: index())
        case 5 where bytes.count >= 24:
            // Lie in an attribute length field at a 4-aligned attribute start.
            let at = 20 + 4 * Int(rng.next() % UInt64((bytes.count - 20) / 4))
            if at + 4 <= bytes.count { bytes.writeUInt16(UInt16(truncatingIfNeeded: rng.next()), at: at + 2) }
        case 6 where bytes.count >= 20:
            // Make the header length agree with the datagram after other cuts.
            bytes.writeUInt16(UInt16(truncatingIfNeeded: (bytes.count - 20) & ~3), at: 2)
        default:
            // Pad to a multiple of 4 and fix the header, so deeper code runs.
            while bytes.count % 4 != 0 { bytes.append(0) }
            if bytes.count >= 20 { bytes.writeUInt16(UInt16(truncatingIfNeeded: bytes.count - 20), at: 2) }
        }
    }
}
