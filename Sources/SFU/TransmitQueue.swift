import STUN
import Wire

/// The datagrams an engine call produced, stored back to back in one byte
/// buffer that is reused from batch to batch.
///
/// The UDP shell drains it once per batch (one `sendmmsg`) and empties it
/// with `removeAll()`, which keeps the capacity, so steady-state forwarding
/// appends into memory that already exists instead of allocating one array
/// per datagram (STYLE.md, "Store once, send by index"). Iterating yields
/// `Transmit` copies, for tests and other code off the media path.
/// Owned by one event loop; not shared.
public struct TransmitQueue: Sendable, Sequence {
    /// Where one datagram lies in `storage`, and where it goes.
    public struct Entry: Sendable, Equatable {
        /// Offset of the first byte in `storage`.
        public var offset: Int
        /// Length in bytes.
        public var length: Int
        /// The destination.
        public var destination: StunAddress
    }

    /// Every queued datagram's bytes, back to back.
    public private(set) var storage: [UInt8] = []
    /// The queued datagrams, in order.
    public private(set) var entries: [Entry] = []

    /// Creates an empty queue with room for `datagrams` datagrams of about
    /// `bytesEach` bytes before it first grows.
    public init(reservingDatagrams datagrams: Int = 0, bytesEach: Int = 1_200) {
        entries.reserveCapacity(datagrams)
        storage.reserveCapacity(datagrams * bytesEach)
    }

    /// True when nothing is queued.
    public var isEmpty: Bool { entries.isEmpty }
    /// The number of queued datagrams.
    public var count: Int { entries.count }

    /// Queues a copy of `bytes` for `destination`.
    public mutating func append(_ bytes: [UInt8], to destination: StunAddress) {
        entries.append(Entry(offset: storage.count, length: bytes.count, destination: destination))
        storage.append(contentsOf: bytes)
    }

    /// Queues a transmit.
    public mutating func append(_ transmit: Transmit) {
        append(transmit.bytes, to: transmit.destination)
    }

    /// Forgets every queued datagram, keeping the memory for the next batch.
    public mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        storage.removeAll(keepingCapacity: true)
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
