import ArgumentParser
import Foundation
import Tokens

/// `cohort token`: prints a signed join token.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a signed join token (JWT, HS256) for one participant.")

    /// `.unconditional`: a secret may begin with `-`, as `serve` allows.
    @Option(parsing: .unconditional,
            help: ArgumentHelp("The server's token secret, at least 32 bytes. Env COHORT_SECRET.", valueName: "secret"))
    var secret: String?

    @Option(help: ArgumentHelp("Therapy session id (claim sid).", valueName: "id"))
    var session: String

    @Option(help: ArgumentHelp("Room to enter first (claim room).", valueName: "id"))
    var room: String = TokenClaims.defaultRoom

    @Option(help: ArgumentHelp("Display name (claim name).", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("host, co-host or participant (claim role).", valueName: "role"))
    var role: String = ParticipantRole.participant.rawValue

    @Option(help: ArgumentHelp("Seconds until the token expires (claim exp).", valueName: "seconds"))
    var ttl: Int = 3600

    @Option(help: ArgumentHelp("The person's stable id (claim sub): one per person; it names them in the records, and removal and the join limits key on it.", valueName: "id"))
    var sub: String

    /// Checks the flags; the secret is checked in `run`, since it may come from the environment.
    func validate() throws {
        _ = try claims(now: 0)
    }

    func run() throws {
        let signer = TokenSigner(secret: try resolvedSecret(environment: ProcessInfo.processInfo.environment))
        print(signer.mint(try claims(now: Int64(Date().timeIntervalSince1970), tokenID: TokenSigner.randomTokenID())))
    }

    func resolvedSecret(environment: [String: String]) throws -> String {
        guard let secret = secret ?? environment["COHORT_SECRET"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("give --secret or set COHORT_SECRET")
        }
        guard secret.utf8.count >= TokenSigner.minimumSecretLength else {
            throw ValidationError(SettingsError.secretTooShort(option: "--secret", count: secret.utf8.count).description)
        }
        return secret
    }

    /// The claims for `now`; each printed token gets its own `tokenID` (jti).
    func claims(now: Int64, tokenID: String? = nil) throws -> TokenClaims {
        guard let role = ParticipantRole(rawValue: role) else {
            throw ValidationError("--role must be host, co-host or participant")
        }
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
        guard !session.isEmpty, !name.isEmpty, !room.isEmpty, !sub.isEmpty else {
            throw ValidationError("--session, --name, --room and --sub must not be empty")
        }
        return TokenClaims(session: session, room: room, name: name, role: role,
                           expiresAt: now + Int64(ttl), issuedAt: now, subject: sub, tokenID: tokenID)
    }
}
