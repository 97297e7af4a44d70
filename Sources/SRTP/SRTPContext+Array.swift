extension SRTPContext {
    /// Appended before protecting. Copying an array is a bulk copy even in
    /// unoptimised (test) builds, where appending a generic `repeatElement`
    /// goes element by element and costs tens of microseconds per packet.
    private static let zeroTrailer = [UInt8](repeating: 0, count: maximumTrailerLength)

    /// Protects the RTP packet in `packet` in place; afterwards `packet`
    /// holds the SRTP packet.
    ///
    /// Allocates nothing when `packet` is uniquely referenced and has
    /// `packet.count + SRTPContext.maximumTrailerLength` capacity: keep one
    /// such buffer per loop and reuse it. Otherwise the array grows once.
    public func protectRTP(_ packet: inout [UInt8]) throws(SRTPError) {
        try protectInPlace(&packet, rtcp: false)
    }

    /// Verifies and decrypts the SRTP packet in `packet` in place;
    /// afterwards `packet` holds the RTP packet. Never allocates when
    /// `packet` is uniquely referenced. On error `packet` is unspecified.
    public func unprotectRTP(_ packet: inout [UInt8]) throws(SRTPError) {
        try unprotectInPlace(&packet, rtcp: false)
    }

    /// Protects the RTCP packet in `packet` in place; see `protectRTP(_:)`
    /// for the capacity that avoids allocation.
    public func protectRTCP(_ packet: inout [UInt8]) throws(SRTPError) {
        try protectInPlace(&packet, rtcp: true)
    }

    /// Verifies and decrypts the SRTCP packet in `packet` in place.
    public func unprotectRTCP(_ packet: inout [UInt8]) throws(SRTPError) {
        try unprotectInPlace(&packet, rtcp: true)
    }

    private func protectInPlace(_ packet: inout [UInt8], rtcp: Bool) throws(SRTPError) {
        let length = packet.count
        let trailer = Self.maximumTrailerLength
        // Both calls stay within the reserved capacity when it suffices, so
        // they only move `count`; the zeros give libsrtp initialised room
        // to write its trailer into.
        packet.reserveCapacity(length + trailer)
        packet.append(contentsOf: Self.zeroTrailer)
        let outcome = packet.withUnsafeMutableBytes { bytes -> Result<Int, SRTPError> in
            do throws(SRTPError) {
                return .success(rtcp ? try protectRTCP(bytes, length: length)
                                     : try protectRTP(bytes, length: length))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let protectedLength):
            packet.removeLast(packet.count - protectedLength)
        case .failure(let error):
            packet.removeLast(trailer)
            throw error
        }
    }

    private func unprotectInPlace(_ packet: inout [UInt8], rtcp: Bool) throws(SRTPError) {
        let outcome = packet.withUnsafeMutableBytes { bytes -> Result<Int, SRTPError> in
            do throws(SRTPError) {
                return .success(rtcp ? try unprotectRTCP(bytes, length: bytes.count)
                                     : try unprotectRTP(bytes, length: bytes.count))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let plainLength):
            packet.removeLast(packet.count - plainLength)
        case .failure(let error):
            throw error
        }
    }
}
