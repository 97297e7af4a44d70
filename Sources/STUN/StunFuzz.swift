/// A fuzz entry point for the STUN codec (the lead wires it to libFuzzer).
///
/// Runs parse, the fingerprint and integrity checks, and a rebuild of what
/// was parsed on arbitrary bytes. Peer input must never trap; the only
/// preconditions here are Cohort's own round-trip invariants, which a
/// fuzzer should report when broken.
public enum StunFuzz {
    /// Exercises the codec on `data`.
    public static func run(_ data: [UInt8]) {
        _ = StunMessage.isStun(data)
        _ = StunAddress.IP(String(decoding: data.prefix(64), as: UTF8.self))
        _ = StunAddress(String(decoding: data.prefix(64), as: UTF8.self))
        guard let parsed = try? StunParsedMessage(parsing: data) else { return }
        precondition(StunMessage.isStun(data), "a parsed message passes the cheap check")
        _ = try? parsed.checkFingerprint()
        _ = try? parsed.checkIntegrity(password: "fuzz-password")
        _ = try? parsed.checkIntegrity(key: [])

        // Rebuild with fresh integrity and fingerprint, and read it back.
        let key: [UInt8] = Array("fuzz-password".utf8)
        guard let rebuilt = try? parsed.message.encode(integrityKey: key, fingerprint: true) else { return }
        let reparsed: StunParsedMessage
        do {
            reparsed = try StunParsedMessage(parsing: rebuilt)
            try reparsed.checkFingerprint()
            try reparsed.checkIntegrity(key: key)
        } catch {
            preconditionFailure("a rebuilt message does not read back: \(error)")
        }
        precondition(reparsed.message.withoutIntegrityAndFingerprint == parsed.message.withoutIntegrityAndFingerprint,
                     "a rebuilt message reads back with other content")
        precondition(reparsed.unknownComprehensionRequired == parsed.unknownComprehensionRequired)
    }
}
