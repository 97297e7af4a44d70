#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOHTTP1
import Tokens

/// The records a server keeps, as the control plane serves them
/// (`GET /records/attendance`, `GET /records/audit`). Implemented by the
/// executable over the records database; the control plane knows no SQL.
public protocol RecordsSource: Sendable {
    /// `report` ("attendance" or "audit") of `session` between the optional
    /// days `from` and `to` (YYYY-MM-DD), as `format` ("csv" or "json").
    /// Blocking: called off the event loop. Throws `RecordsQueryError` for bad arguments.
    func export(report: String, session: String, from: String?, to: String?, format: String) throws -> (contentType: String, body: String)
}

/// A records request's argument that cannot be used (answered with 400).
public struct RecordsQueryError: Error, Sendable {
    /// For the client.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
}

/// Who may read a session's records over HTTP, and what they asked for
/// (docs/RECORDS.md): a valid, unexpired token of a host or co-host of that
/// session, as `Authorization: Bearer <token>`, verified with the signer that
/// verifies joins. No token or a bad or expired one is 401; a valid token of
/// a participant, or of another session, is 403.
struct RecordsRequest: Equatable {
    var report: String
    var session: String
    var from: String?
    var to: String?
    var format: String

    /// The reports served under `/records/`.
    static let reports: Set<String> = ["attendance", "audit"]

    /// Parses and authorizes `head`; a refusal comes with its status and text.
    static func authorize(_ head: HTTPRequestHead, signer: TokenSigner, now: Int64,
                          expectedSession: String?) -> Result<RecordsRequest, Refusal> {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map(String.init) ?? ""
        let report = String(path.dropFirst("/records/".count))
        guard path.hasPrefix("/records/"), reports.contains(report) else {
            return .failure(Refusal(.notFound, "not found"))
        }
        var query: [String: String] = [:]
        if parts.count == 2 {
            for item in URLComponents(string: "?" + parts[1])?.queryItems ?? [] { query[item.name] = item.value ?? "" }
        }
        guard let session = query["session"], !session.isEmpty else {
            return .failure(Refusal(.badRequest, "give the session: ?session=ID"))
        }
        let format = query["format"] ?? "csv"
        guard format == "csv" || format == "json" else { return .failure(Refusal(.badRequest, "format is csv or json")) }
        guard let auth = head.headers.first(name: "Authorization"),
              auth.count > 7, auth.prefix(7).lowercased() == "bearer " else {
            return .failure(Refusal(.unauthorized, "send Authorization: Bearer <host token of the session>"))
        }
        let claims: TokenClaims
        do {
            claims = try signer.verify(String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces), now: now)
        } catch {
            return .failure(Refusal(.unauthorized, "the token is not valid (\(error))"))
        }
        guard claims.session == session, expectedSession.map({ $0 == session }) ?? true else {
            return .failure(Refusal(.forbidden, "the token is for another session"))
        }
        guard claims.role != .participant else {
            return .failure(Refusal(.forbidden, "only a host or co-host of the session may read its records"))
        }
        return .success(RecordsRequest(report: report, session: session, from: query["from"], to: query["to"], format: format))
    }

    /// A refused records request.
    struct Refusal: Error, Equatable {
        var status: HTTPResponseStatus
        var message: String
        init(_ status: HTTPResponseStatus, _ message: String) {
            self.status = status
            self.message = message
        }
    }
}
