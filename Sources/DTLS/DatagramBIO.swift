import CCohortOpenSSL

/// The bytes between OpenSSL and the endpoint: one datagram waiting to be
/// read, and a sink for each datagram OpenSSL writes.
///
/// OpenSSL's `BIO_s_mem` is a byte stream: it merges the records of a
/// flight and splits reads at arbitrary points, which breaks DTLS's
/// one-datagram-per-read contract (RFC 6347 §4.1.1). This BIO keeps datagram
/// boundaries in both directions: each `BIO_write` becomes one datagram, and
/// each `BIO_read` returns exactly one whole datagram (truncated, like a UDP
/// socket, if OpenSSL's buffer is smaller).
final class DatagramChannel {
    /// The datagram OpenSSL reads next; consumed by the read.
    var inbound: [UInt8]?
    /// Called with each datagram OpenSSL writes.
    var onWrite: ([UInt8]) -> Void = { _ in }
    /// Link MTU reported to OpenSSL's queries.
    var mtu: Int

    init(mtu: Int) { self.mtu = mtu }

    /// A new BIO reading from and writing to this channel. The BIO does not
    /// retain the channel; its owner must outlive the BIO (the endpoint frees
    /// the `SSL`, and with it the BIO, in its deinit).
    func makeBIO() -> OpaquePointer? {
        guard let bio = BIO_new(DatagramBIOMethod.shared.pointer) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(self).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    static func from(_ bio: OpaquePointer?) -> DatagramChannel? {
        guard let bio, let raw = BIO_get_data(bio) else { return nil }
        return Unmanaged<DatagramChannel>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// The process-wide `BIO_METHOD` for `DatagramChannel`, built once.
struct DatagramBIOMethod: @unchecked Sendable {
    let pointer: OpaquePointer?

    /// UDP over IPv4 headers: what `BIO_dgram_get_mtu_overhead` would report.
    static let udpOverhead = 28

    static let shared = DatagramBIOMethod()

    private init() {
        let type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK
        guard let method = BIO_meth_new(type, "cohort datagram") else { pointer = nil; return }
        BIO_meth_set_write(method) { bio, data, length in
            cohort_BIO_clear_retry_flags(bio)
            guard let channel = DatagramChannel.from(bio), let data, length >= 0 else { return -1 }
            let bytes = UnsafeRawBufferPointer(start: data, count: Int(length))
            channel.onWrite(Array(bytes))
            return length
        }
        BIO_meth_set_read(method) { bio, buffer, length in
            cohort_BIO_clear_retry_flags(bio)
            guard let channel = DatagramChannel.from(bio), let buffer, length > 0 else { return -1 }
            guard let datagram = channel.inbound else {
                cohort_BIO_set_retry_read(bio)
                return -1
            }
            channel.inbound = nil
            let n = min(datagram.count, Int(length))
            datagram.withUnsafeBytes { src in
                UnsafeMutableRawPointer(buffer).copyMemory(from: src.baseAddress!, byteCount: n)
            }
            return Int32(n)
        }
        BIO_meth_set_ctrl(method) { bio, command, _, _ in
            let channel = DatagramChannel.from(bio)
            switch command {
            case BIO_CTRL_FLUSH, BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT, BIO_CTRL_DGRAM_SET_CONNECTED:
                return 1
            case BIO_CTRL_PENDING:
                return channel?.inbound.map { $0.count } ?? 0
            case BIO_CTRL_WPENDING:
                return 0  // every write is already a datagram
            case BIO_CTRL_DGRAM_QUERY_MTU, BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
                return channel?.mtu ?? 1200
            case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
                return DatagramBIOMethod.udpOverhead
            default:
                return 0
            }
        }
        BIO_meth_set_create(method) { bio in
            BIO_set_init(bio, 0)
            BIO_set_data(bio, nil)
            return 1
        }
        BIO_meth_set_destroy(method) { bio in
            BIO_set_data(bio, nil)
            BIO_set_init(bio, 0)
            return 1
        }
        pointer = method
    }
}
