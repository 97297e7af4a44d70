/// Every message a client sends, one case per `type` (docs/PROTOCOL.md). Each carries
/// an `id` chosen by the client that the reply echoes.
public enum ClientMessage: Codable, Equatable, Sendable {
    /// `join`: authenticate with a token and offer SDP; answered by `joined` or `error`.
    case join(JoinRequest)
    /// `leave`: leave the session; answered by `left`, then the server closes with 1000.
    case leave(LeaveRequest)

    /// The `type` discriminator of each case.
    public var type: String {
        switch self {
        case .join: return "join"
        case .leave: return "leave"
        }
    }

    /// The request id the reply echoes.
    public var id: String {
        switch self {
        case .join(let m): return m.id
        case .leave(let m): return m.id
        }
    }

    /// All `type` values a client may send.
    public static let knownTypes: Set<String> = ["join", "leave"]

    private enum TypeKey: String, CodingKey { case type }

    /// Decodes by `type`; an unknown type throws `DecodingError.dataCorrupted` at `type`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: TypeKey.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "join": self = .join(try JoinRequest(from: decoder))
        case "leave": self = .leave(try LeaveRequest(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown type \(type)")
        }
    }

    /// Encodes the payload's fields and `type` into one flat object.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: TypeKey.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .join(let m): try m.encode(to: encoder)
        case .leave(let m): try m.encode(to: encoder)
        }
    }
}

/// How a participant wants to receive audio (ARCHITECTURE "Audio: forward or mix").
public enum AudioMode: String, Codable, Sendable {
    /// Opus passthrough into audio slots, loudest-N.
    case forward
    /// One audio slot carrying a mix-minus of the room.
    case mix
}

/// `join` payload.
public struct JoinRequest: Codable, Equatable, Sendable {
    /// Request id, echoed by `joined` or `error`.
    public var id: String
    /// The signed token (RFC 7519 JWT, HS256) that says who the client is.
    public var token: String
    /// Display name to use instead of the token's `name`, if the server allows it.
    public var name: String?
    /// The SDP offer (RFC 8829 §5.2): the client's send tracks and its receive slots.
    public var sdp: String
    /// Audio delivery preference; the server chooses when absent.
    public var audioMode: AudioMode?

    /// Creates a join request.
    public init(id: String, token: String, name: String? = nil, sdp: String, audioMode: AudioMode? = nil) {
        self.id = id
        self.token = token
        self.name = name
        self.sdp = sdp
        self.audioMode = audioMode
    }
}

/// `leave` payload.
public struct LeaveRequest: Codable, Equatable, Sendable {
    /// Request id, echoed by `left`.
    public var id: String

    /// Creates a leave request.
    public init(id: String) { self.id = id }
}
