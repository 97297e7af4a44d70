/// Random ICE credentials (RFC 8445 §5.3): ufrag at least 4 and password at
/// least 22 ice-chars; Cohort uses letters and digits only. Also used for
/// other opaque ids, so both sides of a test draw them the same way.
public enum IceCredential {
    private static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    /// `length` random letters and digits.
    public static func random(length: Int, using generator: inout some RandomNumberGenerator) -> String {
        String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
