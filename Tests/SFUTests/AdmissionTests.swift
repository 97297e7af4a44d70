import CohortClient
import SFU
import XCTest

/// Issue 14, point 5: participants cannot lock a host out of a session.
final class AdmissionTests: XCTestCase {
    private static let certificate = EngineHarness.certificate

    private func engine(max: Int = 50) -> MediaEngine {
        MediaEngine(configuration: EngineConfiguration(certificate: Self.certificate, candidateHost: "127.0.0.1",
                                                       candidatePort: 40000, maxSlots: 2, maxParticipantsPerSession: max))
    }

    private func join(_ engine: MediaEngine, _ name: String, role: Role = .participant,
                      identity: String?) -> Result<JoinAnswer, SFUError> {
        let client = ClientParticipant(publishAudio: true, publishVideo: false, slots: 1, certificate: Self.certificate)
        do throws(SFUError) {
            return .success(try engine.join(JoinRequest(sessionID: "s1", room: .main, name: name, role: role,
                                                        offer: client.offer.sdp, identity: identity), now: .zero))
        } catch { return .failure(error) }
    }

    private func refusal(_ r: Result<JoinAnswer, SFUError>) -> SFUError? {
        if case .failure(let e) = r { return e } else { return nil }
    }

    /// The measured attack: one participant link joined 50 times filled the
    /// session and the host got `session-full`.
    func testOneTokenJoinedFiftyTimesLeavesRoomForTheHost() {
        let e = engine()
        let results = (0..<50).map { join(e, "squatter \($0)", identity: "sub:patient-7") }
        XCTAssertEqual(results.filter { refusal($0) == nil }.count, 3, "three joins of one identity at once")
        XCTAssertEqual(Set(results.compactMap(refusal).map(\.code)), ["too-many-joins"])
        XCTAssertNil(refusal(join(e, "Dr. Lee", role: .host, identity: "sub:dr-lee")), "the host gets in")
        // A leave frees a place for that identity again.
        guard case .success(let first) = results[0] else { return XCTFail() }
        e.remove(first.participantID, reason: .left, now: .zero)
        XCTAssertNil(refusal(join(e, "squatter again", identity: "sub:patient-7")))
    }

    /// Fifty distinct participants: they fill at most 48 places; the host and
    /// a co-host take the two reserved ones; then the session is full for all.
    func testPlacesAreReservedForHostsAndCoHosts() {
        let e = engine()
        let results = (0..<50).map { join(e, "p\($0)", identity: "sub:p\($0)") }
        XCTAssertEqual(results.filter { refusal($0) == nil }.count, 48)
        XCTAssertEqual(Set(results.compactMap(refusal).map(\.code)), ["session-full"])
        XCTAssertNil(refusal(join(e, "host", role: .host, identity: "sub:h")))
        XCTAssertNil(refusal(join(e, "co-host", role: .coHost, identity: "sub:c")))
        XCTAssertEqual(refusal(join(e, "host 2", role: .host, identity: "sub:h2")), .sessionFull, "50 in all")
        XCTAssertEqual(SFUError.tooManyJoins.code, "too-many-joins")
    }

    /// A request without an identity (an engine used without tokens) is not counted.
    func testJoinsWithoutIdentityAreOnlyLimitedByPlaces() {
        let e = engine(max: 5)
        let results = (0..<5).map { _ in join(e, "anon", identity: nil) }
        XCTAssertEqual(results.filter { refusal($0) == nil }.count, 3)
        XCTAssertEqual(refusal(results[3]), .sessionFull)
    }
}
