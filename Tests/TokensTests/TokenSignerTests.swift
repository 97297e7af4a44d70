import Tokens
import XCTest

/// Mint and verify against tokens computed independently with Python's hmac, json
/// and base64 modules when these tests were written (see each literal's comment).
final class TokenSignerTests: XCTestCase {
    private let secret = "cohort-test-secret-0123456789abcdef"
    private var signer: TokenSigner { TokenSigner(secret: secret) }
    private let t0: Int64 = 1_700_000_000

    private var dana: TokenClaims {
        TokenClaims(session: "group-42", room: "main", name: "Dana", role: .host,
                    expiresAt: t0 + 3600, issuedAt: t0, subject: "user-7")
    }

    /// Python: json.dumps(claims, sort_keys=True, separators=(',',':')), header
    /// {"alg":"HS256","typ":"JWT"}, hmac.new(secret, signing_input, sha256).
    private let danaToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        + ".eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkRhbmEiLCJyb2xlIjoiaG9zdCIsInJvb20iOiJtYWluIiwic2lkIjoiZ3JvdXAtNDIiLCJzdWIiOiJ1c2VyLTcifQ"
        + ".2JtlVu95yHAOVo6H6jU2XSgUz31F3PXQQuSz2xlQX6c"

    /// As above with ensure_ascii=False: UTF-8 in the name, a slash in the room, role co-host, sub "user-9".
    private let zoeToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        + ".eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6Ilpvw6sgw5EiLCJyb2xlIjoiY28taG9zdCIsInJvb20iOiJicmVha291dC8xIiwic2lkIjoiZ3JvdXAtNDIiLCJzdWIiOiJ1c2VyLTkifQ"
        + ".-xeNmInZJb50GbBgN9sMvG3pXannU8ir7MSSc3HOiKQ"

    /// Zoë's claims without sub, correctly signed: refused, since every token names one person.
    private let zoeWithoutSubToken = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        + ".eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6Ilpvw6sgw5EiLCJyb2xlIjoiY28taG9zdCIsInJvb20iOiJicmVha291dC8xIiwic2lkIjoiZ3JvdXAtNDIifQ"
        + ".yhBg_v_5mWNapL9eIa216fzF4JJuEBcfGStdztPmSHw"

    /// Python with another header order, json indent=1 and no room claim: verification
    /// must not depend on our own serialization.
    private let samToken = "eyJ0eXAiOiJKV1QiLCAiYWxnIjoiSFMyNTYifQ"
        + ".ewogImlhdCI6IDE3MDAwMDAwMDAsCiAiZXhwIjogMTcwMDAwMDYwMCwKICJyb2xlIjogInBhcnRpY2lwYW50IiwKICJuYW1lIjogIlNhbSIsCiAic2lkIjogImdyb3VwLTQyIiwKICJzdWIiOiAidXNlci0zIgp9"
        + ".iKNheQ-jjLszB46RYbvq5LCO3IW96yLWbxJYQmY_BX4"

    /// Dana's claims under header {"alg":"none","typ":"JWT"}, still HMAC-signed with the
    /// secret: even a correct MAC does not make "none" acceptable.
    private let noneToken = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
        + ".eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkRhbmEiLCJyb2xlIjoiaG9zdCIsInJvb20iOiJtYWluIiwic2lkIjoiZ3JvdXAtNDIiLCJzdWIiOiJ1c2VyLTcifQ"
        + ".C0INDHJs3Lkd3FfBTOmcDWY09_8Si8tBXCfYc1O4y1g"

    private func assertRejects(_ token: String, now: Int64? = nil, session: String? = nil, signer: TokenSigner? = nil,
                               _ expected: TokenError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try (signer ?? self.signer).verify(token, now: now ?? t0, expectedSession: session),
                             file: file, line: line) {
            XCTAssertEqual($0 as? TokenError, expected, file: file, line: line)
        }
    }

    // MARK: fixed vectors

    /// `jti` (RFC 7519 §4.1.7) round-trips; fresh ids differ.
    func testTokenIDRoundTrips() throws {
        let signer = TokenSigner(secret: secret)
        let id = TokenSigner.randomTokenID()
        XCTAssertNotEqual(id, TokenSigner.randomTokenID())
        XCTAssertEqual(id.count, 22, "16 bytes, base64url without padding")
        let claims = TokenClaims(session: "g", name: "Dana", role: .participant, expiresAt: t0 + 60, issuedAt: t0,
                                 subject: "u-1", tokenID: id)
        XCTAssertEqual(try signer.verify(signer.mint(claims), now: t0).tokenID, id)
    }

    func testMintMatchesIndependentVector() {
        XCTAssertEqual(signer.mint(dana), danaToken)
    }

    func testMintMatchesIndependentVectorWithUTF8AndSlash() {
        let zoe = TokenClaims(session: "group-42", room: "breakout/1", name: "Zoë Ñ", role: .coHost,
                              expiresAt: t0 + 3600, issuedAt: t0, subject: "user-9")
        XCTAssertEqual(signer.mint(zoe), zoeToken)
        XCTAssertEqual(try signer.verify(zoeToken, now: t0), zoe)
    }

    /// Every token names one person (issue 15, point 1): no `sub`, no join.
    func testATokenWithoutSubIsRefused() {
        assertRejects(zoeWithoutSubToken, .missingClaim("sub"))
        assertRejects(signed(#"{"sid":"g","name":"n","role":"host","exp":1700000600,"iat":1700000000,"sub":""}"#),
                      .missingClaim("sub"))
    }

    func testVerifyIndependentVector() throws {
        XCTAssertEqual(try signer.verify(danaToken, now: t0 + 10, expectedSession: "group-42"), dana)
    }

    func testVerifyForeignSerializationDefaultsRoomToMain() throws {
        let claims = try signer.verify(samToken, now: t0)
        XCTAssertEqual(claims, TokenClaims(session: "group-42", name: "Sam", role: .participant,
                                           expiresAt: t0 + 600, issuedAt: t0, subject: "user-3"))
        XCTAssertEqual(claims.room, "main")
    }

    func testRoundTrip() throws {
        for role in ParticipantRole.allCases {
            var c = dana
            c.role = role
            c.notBefore = t0 - 5
            XCTAssertEqual(try signer.verify(signer.mint(c), now: t0), c)
        }
    }

    func testRandomSecretsAreLongAndDistinct() {
        let a = TokenSigner.randomSecret(), b = TokenSigner.randomSecret()
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(Base64URL.decode(a)?.count, TokenSigner.minimumSecretLength)
    }

    // MARK: algorithm

    func testRejectsAlgNone() {
        assertRejects(noneToken, .unsupportedAlgorithm("none"))
        // The classic "none" attack: an empty signature.
        let parts = noneToken.split(separator: ".")
        assertRejects("\(parts[0]).\(parts[1]).", .unsupportedAlgorithm("none"))
    }

    func testRejectsOtherAlgorithmsAndMissingAlg() {
        let payload = danaToken.split(separator: ".")[1]
        for alg in ["HS512", "RS256", "hs256", "ES256"] {
            let header = Base64URL.encode(Array(#"{"alg":"\#(alg)"}"#.utf8))
            assertRejects("\(header).\(payload).AAAA", .unsupportedAlgorithm(alg))
        }
        let noAlg = Base64URL.encode(Array(#"{"typ":"JWT"}"#.utf8))
        assertRejects("\(noAlg).\(payload).AAAA", .unsupportedAlgorithm(""))
        let crit = Base64URL.encode(Array(#"{"alg":"HS256","crit":["exp"]}"#.utf8))
        assertRejects("\(crit).\(payload).AAAA", .unsupportedAlgorithm("crit"))
    }

    // MARK: tampering

    func testTamperedPayloadFailsSignature() {
        var c = dana
        c.role = .participant
        let forgedPayload = signer.mint(c).split(separator: ".")[1]
        let parts = danaToken.split(separator: ".")
        assertRejects("\(parts[0]).\(forgedPayload).\(parts[2])", .badSignature)
    }

    func testEveryPayloadCharacterIsCovered() {
        let parts = danaToken.split(separator: ".").map(String.init)
        var chars = Array(parts[1])
        for i in stride(from: 0, to: chars.count - 1, by: 7) {
            let original = chars[i]
            chars[i] = original == "A" ? "B" : "A"
            XCTAssertThrowsError(try signer.verify("\(parts[0]).\(String(chars)).\(parts[2])", now: t0))
            chars[i] = original
        }
    }

    func testOtherSecretFailsSignature() {
        assertRejects(danaToken, signer: TokenSigner(secret: secret + "x"), .badSignature)
    }

    func testTruncatedSignatureFailsSignature() {
        // 40 of 43 characters: still valid base64url (30 bytes), but not 32 bytes of MAC.
        assertRejects(String(danaToken.dropLast(3)), .badSignature)
    }

    func testMalformedShapes() {
        let parts = danaToken.split(separator: ".")
        for bad in ["", ".", "..", "a.b", "\(parts[0]).\(parts[1])", "\(danaToken).x",
                    "%%%.\(parts[1]).\(parts[2])", "\(parts[0]).\(parts[1]).%%%",
                    Base64URL.encode(Array("not json".utf8)) + ".\(parts[1]).\(parts[2])"] {
            assertRejects(bad, .malformed)
        }
    }

    func testSignedGarbagePayloadIsMalformed() {
        let h = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
        let p = Base64URL.encode(Array("[1,2]".utf8))
        let mac = HMACSHA256.authenticate(Array("\(h).\(p)".utf8), key: Array(secret.utf8))
        assertRejects("\(h).\(p).\(Base64URL.encode(mac))", .malformed)
    }

    // MARK: claims

    private func signed(_ json: String) -> String {
        let h = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8))
        let p = Base64URL.encode(Array(json.utf8))
        return "\(h).\(p).\(Base64URL.encode(HMACSHA256.authenticate(Array("\(h).\(p)".utf8), key: Array(secret.utf8))))"
    }

    func testMissingClaims() {
        let full = ["sid": #""g""#, "name": #""n""#, "role": #""host""#, "exp": "1700000600", "iat": "1700000000", "sub": #""u""#]
        for missing in ["sid", "name", "role", "exp", "iat", "sub"] {
            let json = "{" + full.filter { $0.key != missing }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
            assertRejects(signed(json), .missingClaim(missing))
        }
    }

    func testInvalidClaims() {
        assertRejects(signed(#"{"sid":"g","name":"n","role":"admin","exp":1700000600,"iat":1700000000}"#), .invalidClaim("role"))
        assertRejects(signed(#"{"sid":"g","name":"n","role":"host","exp":"soon","iat":1700000000}"#), .invalidClaim("exp"))
        assertRejects(signed(#"{"sid":7,"name":"n","role":"host","exp":1700000600,"iat":1700000000}"#), .invalidClaim("sid"))
        assertRejects(signed(#"{"sid":"g","name":"n","role":"host","exp":-1,"iat":1700000000}"#), .invalidClaim("exp"))
    }

    func testFractionalNumericDateIsAccepted() throws {
        let claims = try signer.verify(signed(#"{"sid":"g","name":"n","role":"host","exp":1700000600.9,"iat":1700000000.5,"sub":"u"}"#), now: t0)
        XCTAssertEqual(claims.expiresAt, t0 + 600)
        XCTAssertEqual(claims.issuedAt, t0)
    }

    // MARK: time and session

    func testExpiryBoundary() {
        XCTAssertNoThrow(try signer.verify(danaToken, now: t0 + 3599))
        assertRejects(danaToken, now: t0 + 3600, .expired)  // RFC 7519 §4.1.4: "on or after"
        assertRejects(danaToken, now: t0 + 100_000, .expired)
    }

    func testLeewayExtendsBothEnds() {
        let lenient = TokenSigner(secret: secret, leeway: 30)
        XCTAssertNoThrow(try lenient.verify(danaToken, now: t0 + 3629))
        assertRejects(danaToken, now: t0 + 3630, signer: lenient, .expired)
        XCTAssertNoThrow(try lenient.verify(danaToken, now: t0 - 30))
        assertRejects(danaToken, now: t0 - 31, signer: lenient, .notYetValid)
    }

    func testNotYetValid() {
        assertRejects(danaToken, now: t0 - 1, .notYetValid)  // issued in the future
        var c = dana
        c.notBefore = t0 + 60
        assertRejects(signer.mint(c), now: t0 + 59, .notYetValid)
        XCTAssertNoThrow(try signer.verify(signer.mint(c), now: t0 + 60))
    }

    func testWrongSession() {
        assertRejects(danaToken, session: "group-43", .wrongSession)
        XCTAssertNoThrow(try signer.verify(danaToken, now: t0, expectedSession: nil))
    }

    func testSignatureIsCheckedBeforeExpiry() {
        // A forged token must not learn whether its claims would have been valid.
        assertRejects(danaToken, now: t0 + 100_000, signer: TokenSigner(secret: "another-secret-another-secret-xx"), .badSignature)
    }
}
