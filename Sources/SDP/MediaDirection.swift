/// The direction attributes `a=sendrecv|sendonly|recvonly|inactive` (RFC 8866 §6.7, RFC 3264 §5.1),
/// always from the point of view of the description's author.
public enum MediaDirection: String, Hashable, Sendable, CaseIterable {
    /// The author sends and receives.
    case sendrecv
    /// The author only sends.
    case sendonly
    /// The author only receives.
    case recvonly
    /// Neither.
    case inactive

    /// Whether the author sends media.
    public var sends: Bool { self == .sendrecv || self == .sendonly }
    /// Whether the author receives media.
    public var receives: Bool { self == .sendrecv || self == .recvonly }

    /// The direction an answerer uses for the same stream (RFC 3264 §6.1).
    public var reversed: MediaDirection {
        switch self {
        case .sendonly: .recvonly
        case .recvonly: .sendonly
        case .sendrecv, .inactive: self
        }
    }

    /// The property attribute for this direction, e.g. `a=recvonly`.
    public var attribute: SDPAttribute { SDPAttribute(name: rawValue) }
}
