/// Who may join a session (issue 14): a host is never locked out.
extension Session {
    /// Why `request` may not join now, or nil if it may.
    ///
    /// Checks run in this order: a person a host removed (`removed`), joins
    /// of the token's identity already present (`too-many-joins`), then
    /// places (`session-full`). Participants may
    /// take at most `maxParticipantsPerSession − reservedHostPlaces` places;
    /// hosts and co-hosts may take every place.
    func refusal(of request: JoinRequest, configuration: EngineConfiguration) -> SFUError? {
        if let identity = request.identity, model.removed.contains(where: { $0.identity == identity }) {
            return .removedFromSession
        }
        if let identity = request.identity,
           participants.values.lazy.filter({ $0.identity == identity }).count >= configuration.maxJoinsPerIdentity {
            return .tooManyJoins
        }
        let places = request.role.runsSession
            ? configuration.maxParticipantsPerSession
            : configuration.maxParticipantsPerSession - configuration.reservedHostPlaces
        return participants.count < places ? nil : .sessionFull
    }
}
