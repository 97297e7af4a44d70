import NIOConcurrencyHelpers

/// Single-use tokens (`cohort serve --single-use-tokens on`): each token id
/// (`jti`) admits one join. A link forwarded or leaked after the patient
/// joined is then worthless. Ids are kept until their token expires (plus
/// the verification leeway), so memory is bounded by the tokens in use.
/// Shared by every connection; thread-safe.
public final class TokenReplayGuard: Sendable {
    private struct State {
        var used: [String: Int64] = [:]
        var nextPrune: Int64 = 0
    }
    private let state = NIOLockedValueBox(State())
    private let leeway: Int64

    /// - Parameter leeway: seconds a token stays valid past `exp` (the signer's leeway).
    public init(leeway: Int64 = 30) { self.leeway = leeway }

    /// Takes `tokenID` for a join at `now` (Unix seconds); false when it was taken before.
    public func take(_ tokenID: String, expiresAt: Int64, now: Int64) -> Bool {
        state.withLockedValue { s in
            if now >= s.nextPrune {
                s.used = s.used.filter { $0.value + leeway >= now }
                s.nextPrune = now + 60
            }
            guard s.used[tokenID] == nil else { return false }
            s.used[tokenID] = expiresAt
            return true
        }
    }

    /// Gives `tokenID` back: the join it was taken for failed before the
    /// participant was in (a refused offer, a full session), so it may be tried again.
    public func giveBack(_ tokenID: String) {
        state.withLockedValue { _ = $0.used.removeValue(forKey: tokenID) }
    }

    /// Token ids remembered now, for tests.
    public var count: Int { state.withLockedValue { $0.used.count } }
}
