import STUN
import Wire

/// The datagrams an engine call produced, stored back to back in one byte
/// buffer that is reused from batch to batch.
///
/// The UDP shell drains it once per batch (one `sendmmsg`) and empties it
/// with `removeAll()`, which keeps the memory, so steady-state forwarding
/// writes into memory that already exists instead of allocating one array
/// per datagram (STYLE.md, "Store once, send by index"). The forwarder
/// builds and encrypts each copy in place with `appendDatagram(to:capacity:_:)`.
/// Iterating yields `Transmit` copies, for tests and code off the media path.
/// Owned by one event loop; not shared.
public struct TransmitQueue: Sendable, Sequence {
    /// Where one datagram lies in the storage, and where it goes.
    public struct Entry: Sendable, Equatable {
        /// Offset of the first byte in the storage.
        public var offset: Int
        /// Length in bytes.
        public var length: Int
        /// The destination.
        public var destination: StunAddress
    }

    /// Datagrams start at multiples of this from the storage's first byte
    /// (which Swift's array allocation aligns to 16), so each one is as
    /// aligned as libsrtp requires (4) for encryption in place.
    static let alignment = 8

    /// The memory; its first `used` bytes hold the queued datagrams.
    private var storage: [UInt8]
    /// Bytes of `storage` in use, the gaps for alignment included.
    public private(set) var used = 0
    /// The queued datagrams, in order.
    public private(set) var entries: [Entry] = []

    /// Creates an empty queue with room for `datagrams` datagrams of about
    /// `bytesEach` bytes before it first grows.
    public init(reservingDatagrams datagrams: Int = 0, bytesEach: Int = 1_200) {
        entries.reserveCapacity(datagrams)
        storage = [UInt8](repeating: 0, count: datagrams * bytesEach)
    }

    /// True when nothing is queued.
    public var isEmpty: Bool { entries.isEmpty }
    /// The number of queued datagrams.
    public var count: Int { entries.count }

    /// Queues a copy of `bytes` for `destination`.
    public mutating func append(_ bytes: [UInt8], to destination: StunAddress) {
        appendDatagram(to: destination, capacity: bytes.count) { out in
            bytes.withUnsafeBytes { out.copyMemory(from: $0) }
            return bytes.count
        }
    }

    /// Queues a transmit.
    public mutating func append(_ transmit: Transmit) {
        append(transmit.bytes, to: transmit.destination)
    }

    /// Queues a datagram for `destination` that `write` builds in place:
    /// it gets `capacity` bytes, 8-byte aligned, holding whatever was there
    /// before, and returns how many it wrote from the start (at most
    /// `capacity`), or nil to queue nothing. Only those bytes are sent.
    public mutating func appendDatagram(to destination: StunAddress, capacity: Int,
                                        _ write: (UnsafeMutableRawBufferPointer) -> Int?) {
        precondition(capacity >= 0, "negative datagram capacity")
        let offset = (used + Self.alignment - 1) / Self.alignment * Self.alignment
        if offset + capacity > storage.count {
            storage.append(contentsOf: [UInt8](repeating: 0, count: Swift.max(storage.count, offset + capacity - storage.count)))
        }
        let length = storage.withUnsafeMutableBytes { all -> Int? in
            let region = UnsafeMutableRawBufferPointer(rebasing: all[offset..<(offset + capacity)])
            guard let length = write(region) else { return nil }
            precondition(length >= 0 && length <= capacity, "datagram longer than its capacity")
            return length
        }
        guard let length else { return }
        entries.append(Entry(offset: offset, length: length, destination: destination))
        used = offset + length
    }

    /// Calls `body` with the bytes of every queued datagram (`used` bytes,
    /// alignment gaps included; `entries` locate the datagrams).
    public func withStorage<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<used])) }
    }

    /// Forgets every queued datagram, keeping the memory for the next batch.
    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        used = 0
    }

    /// The datagram at `index` as a `Transmit` (a copy of its bytes).
    public subscript(index: Int) -> Transmit {
        let e = entries[index]
        return Transmit(bytes: Array(storage[e.offset..<(e.offset + e.length)]), destination: e.destination)
    }

    /// Iterates over copies of the queued datagrams.
    public struct Iterator: IteratorProtocol {
        let queue: TransmitQueue
        var index = 0

        /// The next datagram, or nil after the last.
        public mutating func next() -> Transmit? {
            guard index < queue.entries.count else { return nil }
            defer { index += 1 }
            return queue[index]
        }
    }

    /// Iterates over copies of the queued datagrams.
    public func makeIterator() -> Iterator { Iterator(queue: self) }
}
