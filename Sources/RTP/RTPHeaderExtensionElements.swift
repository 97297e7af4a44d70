/// One element of an RFC 8285 header extension: its local ID and where its
/// data lies in the packet.
public struct RTPHeaderExtensionElement: Equatable, Sendable {
    /// The local identifier negotiated in SDP (`a=extmap`): 1...14 in the
    /// one-byte form, 1...255 in the two-byte form.
    public var id: UInt8
    /// The element's data bytes in the packet.
    public var range: Range<Int>

    /// Creates an element.
    public init(id: UInt8, range: Range<Int>) {
        self.id = id
        self.range = range
    }
}

/// The elements of one header extension, read lazily from the packet.
///
/// Iterating holds a reference to the packet array (no copy) and allocates
/// nothing. Padding bytes are skipped (RFC 8285 §4.2, §4.3); in the one-byte
/// form ID 15 ends the list (§4.2). Anything inconsistent ends iteration
/// early, although `RTPHeader(parsing:)` has already rejected such packets.
public struct RTPHeaderExtensionElements: Sequence, IteratorProtocol, Sendable {
    @usableFromInline let packet: [UInt8]
    @usableFromInline let form: RTPHeaderExtensionForm?
    @usableFromInline var position: Int
    @usableFromInline let end: Int

    @usableFromInline init(packet: [UInt8], form: RTPHeaderExtensionForm?, range: Range<Int>) {
        self.packet = packet
        self.form = form
        self.position = range.lowerBound
        self.end = Swift.min(range.upperBound, packet.count)
    }

    /// The next element, or nil at the end of the extension.
    public mutating func next() -> RTPHeaderExtensionElement? {
        guard let form else { return nil }
        while true {
            switch RTPHeaderExtensionStep.take(packet, form: form, at: position, end: end) {
            case .padding(let next):
                position = next
            case .element(let id, let range):
                position = range.upperBound
                return RTPHeaderExtensionElement(id: id, range: range)
            case .end, .malformed:
                position = end
                return nil
            }
        }
    }
}

/// One step through an extension block, shared by validation and iteration.
enum RTPHeaderExtensionStep {
    case padding(next: Int)
    case element(id: UInt8, range: Range<Int>)
    case end
    case malformed(offset: Int)

    static func take(_ packet: [UInt8], form: RTPHeaderExtensionForm, at position: Int, end: Int) -> Self {
        guard position >= 0, position < end, end <= packet.count else { return .end }
        let first = packet[position]
        // A zero byte is padding in both forms (RFC 8285 §4.2, §4.3).
        if first == 0 { return .padding(next: position + 1) }
        switch form {
        case .oneByte:
            let id = first >> 4
            // §4.2: ID 15 is reserved; stop processing, ignoring its length.
            // ID 0 is reserved for padding, so a nonzero length with it is
            // nonsense; stop there too rather than guess (as libwebrtc does).
            if id == 15 || id == 0 { return .end }
            let start = position + 1
            let length = Int(first & 0x0F) + 1
            guard length <= end - start else { return .malformed(offset: position) }
            return .element(id: id, range: start..<(start + length))
        case .twoByte:
            guard position + 1 < end else { return .malformed(offset: position) }
            let start = position + 2
            let length = Int(packet[position + 1])
            guard length <= end - start else { return .malformed(offset: position) }
            return .element(id: first, range: start..<(start + length))
        }
    }
}

extension RTPHeader {
    /// Checks that every element fits inside the extension block.
    static func validateElements(_ packet: [UInt8], form: RTPHeaderExtensionForm,
                                 in range: Range<Int>) throws(RTPError) {
        var position = range.lowerBound
        while true {
            switch RTPHeaderExtensionStep.take(packet, form: form, at: position, end: range.upperBound) {
            case .padding(let next): position = next
            case .element(_, let r): position = r.upperBound
            case .end: return
            case .malformed(let offset): throw .extensionElementOverrun(offset: offset)
            }
        }
    }

    /// The RFC 8285 elements of this packet's header extension; empty when
    /// there is none or its profile is not 0xBEDE / 0x100X.
    public func extensionElements(in packet: [UInt8]) -> RTPHeaderExtensionElements {
        RTPHeaderExtensionElements(packet: packet, form: extensionForm, range: extensionRange)
    }

    /// The data range of the first element with local ID `id`, or nil.
    public func extensionElement(id: UInt8, in packet: [UInt8]) -> Range<Int>? {
        guard let form = extensionForm, id != 0 else { return nil }
        var position = extensionRange.lowerBound
        while true {
            switch RTPHeaderExtensionStep.take(packet, form: form, at: position, end: extensionRange.upperBound) {
            case .padding(let next): position = next
            case .element(let found, let range):
                if found == id { return range }
                position = range.upperBound
            case .end, .malformed: return nil
            }
        }
    }

    /// The RFC 6464 client-to-mixer audio level, when the extension element
    /// with local ID `id` is present and holds at least one byte.
    public func audioLevel(id: UInt8, in packet: [UInt8]) -> RTPAudioLevel? {
        guard let range = extensionElement(id: id, in: packet), !range.isEmpty else { return nil }
        return RTPAudioLevel(byte: packet[range.lowerBound])
    }

    /// The transport-wide sequence number
    /// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2), when the
    /// element with local ID `id` is present and holds two bytes.
    public func transportSequenceNumber(id: UInt8, in packet: [UInt8]) -> UInt16? {
        guard let range = extensionElement(id: id, in: packet), range.count >= 2 else { return nil }
        return UInt16(packet[range.lowerBound]) << 8 | UInt16(packet[range.lowerBound + 1])
    }
}
