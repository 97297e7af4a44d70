import SRTP
import Wire

/// Keying material as a DTLS-SRTP export would give it, distinct per
/// direction so a direction mix-up cannot pass.
func keyingMaterial(_ profile: SRTPProtectionProfile, seed: UInt8 = 1) -> SRTPKeyingMaterial {
    let length = 2 * (profile.keyLength + profile.saltLength)
    let exported = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ Int(seed)) }
    guard let material = SRTPKeyingMaterial(profile: profile, exported: exported) else {
        preconditionFailure("exporter length")
    }
    return material
}

/// The two ends of one association: the DTLS server (Cohort) and client (browser).
func pair(_ profile: SRTPProtectionProfile, seed: UInt8 = 1) throws -> (server: SRTPContext, client: SRTPContext) {
    let material = keyingMaterial(profile, seed: seed)
    return (try SRTPContext(keyingMaterial: material, role: .dtlsServer),
            try SRTPContext(keyingMaterial: material, role: .dtlsClient))
}
