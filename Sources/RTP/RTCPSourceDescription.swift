import Wire

/// SDES: source description (RFC 3550 §6.5). Cohort reads and writes CNAME,
/// which ties a participant's audio and video SSRCs together; other items
/// are kept as raw bytes.
public struct RTCPSourceDescription: Equatable, Sendable, RTCPPacketWritable {
    /// SDES item types (RFC 3550 §6.5.1-§6.5.8).
    public enum ItemType {
        /// CNAME: canonical end-point identifier.
        public static let cname: UInt8 = 1
        /// NAME: user name.
        public static let name: UInt8 = 2
        /// TOOL: application name.
        public static let tool: UInt8 = 6
        /// PRIV: private extension.
        public static let priv: UInt8 = 8
    }

    /// One SDES item: type, then up to 255 bytes of (UTF-8) text.
    public struct Item: Equatable, Sendable {
        /// The item type (never 0, which ends a chunk).
        public var type: UInt8
        /// The value, at most 255 bytes.
        public var value: [UInt8]

        /// Creates an item.
        public init(type: UInt8, value: [UInt8]) {
            self.type = type
            self.value = value
        }
    }

    /// The items describing one SSRC or CSRC.
    public struct Chunk: Equatable, Sendable {
        /// The source described.
        public var ssrc: UInt32
        /// Its items, in packet order.
        public var items: [Item]

        /// Creates a chunk.
        public init(ssrc: UInt32, items: [Item]) {
            self.ssrc = ssrc
            self.items = items
        }

        /// A chunk holding only a CNAME.
        public init(ssrc: UInt32, cname: String) {
            self.init(ssrc: ssrc, items: [Item(type: ItemType.cname, value: Array(cname.utf8))])
        }

        /// The CNAME item decoded as UTF-8 (invalid bytes replaced), if present.
        public var cname: String? {
            items.first { $0.type == ItemType.cname }.map { String(decoding: $0.value, as: UTF8.self) }
        }
    }

    /// The chunks, at most 31 per packet.
    public var chunks: [Chunk]

    /// Creates a description.
    public init(chunks: [Chunk]) { self.chunks = chunks }

    init(_ view: RTCPPacketView) throws(RTPError) {
        let bytes = view.bytes
        let end = view.body.upperBound
        var position = view.body.lowerBound
        var chunks: [Chunk] = []
        chunks.reserveCapacity(Int(view.header.count))
        for _ in 0..<Int(view.header.count) {
            guard position + 4 <= end else { throw .sdesChunkOverrun(offset: position) }
            var chunk = Chunk(ssrc: bytes.readUInt32(at: position), items: [])
            position += 4
            while true {
                guard position < end else { throw .sdesChunkOverrun(offset: position) }
                let type = bytes[position]
                if type == 0 {
                    // END: null octets pad the chunk to a 32-bit boundary.
                    position += 1
                    let misalignment = (position - view.start) % 4
                    if misalignment != 0 { position = min(end, position + 4 - misalignment) }
                    break
                }
                guard position + 2 <= end else { throw .sdesChunkOverrun(offset: position) }
                let length = Int(bytes[position + 1])
                guard length <= end - position - 2 else { throw .sdesChunkOverrun(offset: position) }
                chunk.items.append(Item(type: type, value: Array(bytes[(position + 2)..<(position + 2 + length)])))
                position += 2 + length
            }
            chunks.append(chunk)
        }
        self.chunks = chunks
    }

    /// Appends the SDES. More than 31 chunks, an item of type 0 or a value
    /// over 255 bytes is a caller bug.
    public func write(to buffer: inout [UInt8]) {
        precondition(chunks.count <= 31, "at most 31 SDES chunks per packet")
        let start = RTCPWriter.begin(count: UInt8(chunks.count), packetType: RTCPPacketType.sourceDescription, into: &buffer)
        for chunk in chunks {
            buffer.appendUInt32(chunk.ssrc)
            for item in chunk.items {
                precondition(item.type != 0 && item.value.count <= 255, "SDES item type 1...255, value at most 255 bytes")
                buffer.append(item.type)
                buffer.append(UInt8(item.value.count))
                buffer.append(contentsOf: item.value)
            }
            // At least one null octet ends the item list, then pad (§6.5).
            buffer.append(0)
            RTCPWriter.align(from: start, in: &buffer)
        }
        RTCPWriter.finish(start: start, in: &buffer)
    }
}
