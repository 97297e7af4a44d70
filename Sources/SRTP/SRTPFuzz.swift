import Wire

/// Fuzz entry point for the SRTP receive path (one fuzz target per parser).
///
/// A fuzzer links `CohortProtocols` and calls `SRTPFuzz.run(data)` for each
/// input. The first octet picks the protection profile; the rest is fed as
/// received bytes to `unprotectRTP` and `unprotectRTCP` of a fixed-key
/// context, which must return or throw but never trap. When the rest is a
/// packet we would accept for sending, it is also protected and
/// unprotected, and the round trip must give back the same bytes.
public enum SRTPFuzz {
    /// Runs one input. Traps only on a Cohort or libsrtp bug (a round trip
    /// that does not give back its input), never on the input's content.
    public static func run(_ data: [UInt8]) {
        guard let selector = data.first else { return }
        let profiles = SRTPProtectionProfile.allCases
        let profile = profiles[Int(selector) % profiles.count]
        let input = Array(data.dropFirst())

        let sender = context(profile, role: .dtlsServer)
        let receiver = context(profile, role: .dtlsClient)

        var packet = input
        _ = try? receiver.unprotectRTP(&packet)
        packet = input
        _ = try? receiver.unprotectRTCP(&packet)

        // Fresh receiver so the round trips do not meet the state above.
        let peer = context(profile, role: .dtlsClient)
        packet = input
        if (try? sender.protectRTP(&packet)) != nil {
            do throws(SRTPError) {
                try peer.unprotectRTP(&packet)
            } catch {
                preconditionFailure("SRTP round trip failed: \(error)")
            }
            precondition(packet == input, "SRTP round trip changed the packet")
        }
        packet = input
        if (try? sender.protectRTCP(&packet)) != nil {
            do throws(SRTPError) {
                try peer.unprotectRTCP(&packet)
            } catch {
                preconditionFailure("SRTCP round trip failed: \(error)")
            }
            precondition(packet == input, "SRTCP round trip changed the packet")
        }
    }

    /// A context with fixed keys; the keys only need to match between roles.
    static func context(_ profile: SRTPProtectionProfile, role: SRTPContext.Role) -> SRTPContext {
        let length = 2 * (profile.keyLength + profile.saltLength)
        let exported = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        guard let material = SRTPKeyingMaterial(profile: profile, exported: exported),
              let context = try? SRTPContext(keyingMaterial: material, role: role) else {
            preconditionFailure("fixed SRTP keys rejected")
        }
        return context
    }
}
