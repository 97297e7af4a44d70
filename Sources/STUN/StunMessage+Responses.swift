// Responses an ICE-lite agent sends to connectivity checks (RFC 8445 §7.3,
// RFC 8489 §6.3). The caller decides which one; these only build bytes.
extension StunMessage {
    /// A Binding success response to `request`: XOR-MAPPED-ADDRESS set to the
    /// request's source address, then MESSAGE-INTEGRITY keyed by our (local)
    /// password, then FINGERPRINT (RFC 8445 §7.3.1.2, §7.2.2).
    ///
    /// - Parameters:
    ///   - request: the request being answered; its method and transaction ID are echoed.
    ///   - source: the address the request came from.
    ///   - password: the local ICE password (the one the request was checked against).
    ///   - software: optional SOFTWARE value, placed before the integrity attributes.
    public static func bindingSuccessResponse(to request: StunMessage, source: StunAddress,
                                              password: String, software: String? = nil) throws(StunError) -> [UInt8] {
        var attributes: [StunAttribute] = [.xorMappedAddress(source)]
        if let software { attributes.append(.software(software)) }
        let response = StunMessage(
            type: StunMessageType(method: request.type.method, messageClass: .successResponse),
            transactionID: request.transactionID, attributes: attributes)
        return try response.encode(password: password, fingerprint: true)
    }

    /// An error response to `request` with `error`, ending with FINGERPRINT.
    ///
    /// - `unknownAttributes` is sent as UNKNOWN-ATTRIBUTES; pass the request's
    ///   `unknownComprehensionRequired` with 420 (RFC 8489 §6.3.1.1).
    /// - `password`: RFC 8489 §9.1.3 says 400 and 401 responses carry no
    ///   MESSAGE-INTEGRITY (the request's credentials could not be trusted),
    ///   so pass nil for them; for 420 and 487 (RFC 8445 §7.3.1.1) to an
    ///   authenticated request, pass the local password.
    public static func errorResponse(to request: StunMessage, error: StunErrorCode,
                                     unknownAttributes: [UInt16] = [], password: String? = nil,
                                     software: String? = nil) throws(StunError) -> [UInt8] {
        var attributes: [StunAttribute] = [.errorCode(error)]
        if !unknownAttributes.isEmpty { attributes.append(.unknownAttributes(unknownAttributes)) }
        if let software { attributes.append(.software(software)) }
        let response = StunMessage(
            type: StunMessageType(method: request.type.method, messageClass: .errorResponse),
            transactionID: request.transactionID, attributes: attributes)
        return try response.encode(integrityKey: password.map(StunIntegrity.shortTermKey(password:)),
                                   fingerprint: true)
    }
}
