import CCohortOpenSSL
import Wire

// How retransmission works, and why it is not just DTLSv1_handle_timeout.
//
// RFC 6347 §4.2.4: a flight is resent when its timer expires, the timer
// doubles on each expiry, and a flight is acknowledged implicitly by the
// peer's next flight.
//
// OpenSSL 3.0 keeps that timer against the wall clock (gettimeofday in
// d1_lib.c). DTLS_set_timer_cb only chooses the *duration*; whether the timer
// has expired is always decided by comparing gettimeofday with the deadline
// OpenSSL stored when the flight was written. Verified on 3.0.22:
//   * DTLSv1_handle_timeout right after a ClientHello, with a timer_cb of 1 s,
//     returns 0 and writes nothing, however far the caller's `now` has moved;
//   * a timer_cb shorter than 15 ms (OpenSSL treats < 15 ms as expired) makes a
//     single SSL_do_handshake retransmit in a loop, because every read checks
//     the timer, until the 12-timeout limit kills the handshake.
// So the engine cannot make OpenSSL retransmit on a clock it does not read.
//
// The design:
//   1. timer_cb returns our own backoff (initial, doubling, capped) and, from
//      the same call, sets `deadline = now + backoff` in the caller's time. A
//      call with previous == 0 marks the start of a new flight.
//   2. Every datagram OpenSSL writes passes through the datagram BIO; the
//      endpoint keeps a copy of the current flight (bounded).
//   3. At `deadline`, handleTimeout first calls DTLSv1_handle_timeout. When the
//      caller's clock tracks the wall clock (production), OpenSSL's timer has
//      expired too and OpenSSL retransmits properly, with fresh record sequence
//      numbers. When the caller's clock runs ahead (tests on a manual clock, a
//      loop catching up), OpenSSL declines, and the endpoint resends its copy
//      of the flight itself.
//   4. A resent copy must pass the peer's replay window (RFC 6347 §4.1.2.6).
//      Epoch-0 records have no MAC, so the endpoint numbers *all* epoch-0
//      records it sends from its own counter; a copy gets fresh numbers. The
//      one epoch-1 record in a flight (Finished) is resent byte for byte: the
//      peer drops it only if it already has it.
//   5. The server's last flight (ChangeCipherSpec, Finished) has no timer
//      (RFC 6347 §4.2.4): it is resent when the client retransmits its own
//      final flight. OpenSSL does that for retransmissions with fresh sequence
//      numbers; a byte-for-byte Finished copy is dropped as a replay, so when a
//      connected server sees handshake records that OpenSSL did not answer, it
//      resends its copy of the last flight (rate-limited).
// OpenSSL's own wall-clock timer keeps running alongside; when it fires during a
// read it retransmits as usual, which is harmless duplication.

/// Retransmission bookkeeping of a `DTLSEndpoint`.
struct RetransmissionState {
    /// When the current flight is next due for retransmission, in the caller's time.
    var deadline: Instant?
    /// The current timeout, doubled on each retransmission.
    var backoff: TimeSpan
    /// The datagrams of the current flight as OpenSSL wrote them.
    var flight: [[UInt8]] = []
    /// Next epoch-0 record sequence number we send.
    var nextEpochZeroSequence: UInt64 = 0
    /// Datagrams OpenSSL has written so far.
    var writes = 0
    /// True while OpenSSL resends a flight itself, so it is not recorded twice.
    var openSSLRetransmitting = false
    /// Resends of the final flight, and when the last one was.
    var finalFlightResends = 0
    var lastFinalFlightResend: Instant?

    /// A flight longer than this is not a DTLS 1.2 flight; the copy stops growing.
    static let maxFlightDatagrams = 32
    /// The server's final flight is resent at most this many times.
    static let maxFinalFlightResends = 8
}

extension DTLSEndpoint {
    /// OpenSSL starts (previous == 0) or restarts its retransmission timer.
    func openSSLTimerStarted(previous: UInt32) -> UInt32 {
        if previous == 0 {
            retransmission.flight.removeAll()
            retransmission.backoff = configuration.initialRetransmitTimeout
        } else {
            retransmission.openSSLRetransmitting = true
            statistics.openSSLRetransmissions += 1
            doubleBackoff()
        }
        retransmission.deadline = currentNow + retransmission.backoff
        return UInt32(clamping: retransmission.backoff.nanoseconds / 1_000)
    }

    /// Every datagram OpenSSL writes arrives here through the datagram BIO.
    func openSSLWrote(_ datagram: [UInt8]) {
        retransmission.writes += 1
        if state == .handshaking, !retransmission.openSSLRetransmitting,
           retransmission.flight.count < RetransmissionState.maxFlightDatagrams {
            retransmission.flight.append(datagram)
        }
        enqueue(datagram)
    }

    /// Queues a datagram for `poll`, numbering its epoch-0 records.
    func enqueue(_ datagram: [UInt8]) {
        guard transmits.count < configuration.maxPendingTransmits else {
            statistics.transmitsDropped += 1
            return
        }
        var copy = datagram
        DTLSRecordHeader.renumberEpochZero(&copy, next: &retransmission.nextEpochZeroSequence)
        transmits.append(copy)
    }

    /// The retransmission timer fired in the caller's time.
    func retransmitFlight(now: Instant) {
        ERR_clear_error()
        let rc = cohort_DTLSv1_handle_timeout(ssl)
        retransmission.openSSLRetransmitting = false
        if rc < 0 {
            return fail(.protocolError("retransmission limit: \(openSSLErrorText())"))
        }
        if rc == 0 {
            // OpenSSL's wall-clock timer has not expired: resend our copy.
            statistics.replayedFlights += 1
            for datagram in retransmission.flight { enqueue(datagram) }
            doubleBackoff()
            retransmission.deadline = now + retransmission.backoff
        }
        syncTimer()
    }

    /// RFC 6347 §4.2.4: the server resends its final flight when the client
    /// retransmits its own.
    func resendFinalFlight(now: Instant) {
        let spacing = TimeSpan(nanoseconds: configuration.initialRetransmitTimeout.nanoseconds / 2)
        if let last = retransmission.lastFinalFlightResend, now < last + spacing { return }
        guard retransmission.finalFlightResends < RetransmissionState.maxFinalFlightResends else { return }
        retransmission.finalFlightResends += 1
        retransmission.lastFinalFlightResend = now
        statistics.replayedFlights += 1
        for datagram in retransmission.flight { enqueue(datagram) }
    }

    /// A stopped OpenSSL timer means the peer's flight acknowledged ours.
    func syncTimer() {
        var remaining = timeval()
        if cohort_DTLSv1_get_timeout(ssl, &remaining) == 0 {
            retransmission.deadline = nil
        }
    }

    private func doubleBackoff() {
        let doubled = retransmission.backoff * 2
        retransmission.backoff = min(doubled, configuration.maxRetransmitTimeout)
    }
}

/// OpenSSL's DTLS timer callback: the next timeout in microseconds.
let dtlsTimerCallback: @convention(c) (OpaquePointer?, UInt32) -> UInt32 = { ssl, previous in
    guard let endpoint = DTLSEndpoint.from(ssl: ssl) else { return 1_000_000 }
    return endpoint.openSSLTimerStarted(previous: previous)
}
