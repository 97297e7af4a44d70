// Release-mode benchmark of SRTPContext: protect + unprotect of one RTP
// packet on a reused buffer, per profile and payload size. Prints one line
// per case: "<profile> <payload octets> <ns per round trip> <allocations per
// round trip>". Scripts/bench-srtp.sh runs it alternately with
// Benchmarks/SRTP/srtp_ref.c, which prints the same lines for libsrtp alone.
import CohortMallocCounter
import SRTP
import Wire

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let names: [SRTPProtectionProfile: String] = [
    .aeadAes256Gcm: "AEAD_AES_256_GCM", .aeadAes128Gcm: "AEAD_AES_128_GCM",
    .aes128CmHmacSha1_80: "AES_CM_128_HMAC_SHA1_80", .aes128CmHmacSha1_32: "AES_CM_128_HMAC_SHA1_32",
]

/// Same keys as srtp_ref.c: octet i of the exporter output is i * 13 + 1.
func material(_ profile: SRTPProtectionProfile) -> SRTPKeyingMaterial {
    let exported = (0..<2 * (profile.keyLength + profile.saltLength)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
    return SRTPKeyingMaterial(profile: profile, exported: exported)!
}

for profile in SRTPProtectionProfile.serverPreference {
    for payload in [160, 1100] {
        let server = try SRTPContext(keyingMaterial: material(profile), role: .dtlsServer)
        let client = try SRTPContext(keyingMaterial: material(profile), role: .dtlsClient)
        var packet: [UInt8] = [0x80, 111, 0, 0, 0, 0, 0, 0, 0xCA, 0xFE, 0xBA, 0xBE]
        packet += (0..<payload).map { UInt8(truncatingIfNeeded: $0) }
        packet.reserveCapacity(2048)
        var sequence: UInt16 = 0
        func roundTrips(_ n: Int) throws {
            for _ in 0..<n {
                sequence &+= 1
                packet.writeUInt16(sequence, at: 2)
                try server.protectRTP(&packet)
                try client.unprotectRTP(&packet)
            }
        }
        try roundTrips(1000)
        let clock = ContinuousClock()
        cohort_malloc_counter_start()
        let elapsed = try clock.measure { try roundTrips(iterations) }
        let allocations = cohort_malloc_counter_stop()
        let ns = Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
        let tenths = allocations * 10 / iterations
        print(names[profile]!, payload, (ns + iterations / 2) / iterations, "\(tenths / 10).\(tenths % 10)")
    }
}
