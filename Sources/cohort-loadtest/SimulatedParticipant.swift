import CohortClient
import LoadTest
import NIOCore
import NIOPosix
import RTP
import STUN
import Wire

/// One simulated participant: a WebSocket for signalling, one UDP socket,
/// and a sans-IO `ClientParticipant` for ICE, DTLS and SRTP, all on one
/// event loop. It publishes the shared Opus clip and synthetic video, and
/// measures everything it receives.
final class SimulatedParticipant: @unchecked Sendable {  // confined to `driver.loop`
    enum Phase: Equatable { case idle, signalling, connecting, live, leaving, gone }

    let origin: OriginID
    let context: RunContext
    unowned let driver: LoopDriver
    private(set) var phase = Phase.idle

    var ws: WebSocketConnection?
    var udp: (any Channel)?
    var client: ClientParticipant?
    var serverAddress: SocketAddress?
    var participantID = ""
    /// `redirect` answers followed during this join (at most `maxRedirects`).
    var redirects = 0
    static let maxRedirects = 3
    /// Set on an incarnation that joins again because the server went away
    /// (a restart or a crash): when it went, and how many tries this is.
    var serverLost: (at: Instant, attempt: Int)?
    /// When `server-shutdown` arrived, and its `retryAfter`.
    var shutdownNotice: (at: Instant, retryAfter: Int)?
    /// How long a participant keeps trying to join a server that went away.
    static let rejoinFor = TimeSpan.seconds(60)

    // Timing of the join.
    var wsStart = Instant.zero
    var answerAt = Instant.zero
    var connectedAt: Instant?
    var joinComplete = false
    var expectedPeers = 0
    var seenPeers = Set<UInt32>()
    var sawMix = false

    // Publishing.
    var audioDue = Instant.zero
    var audioIndex = 0
    var audioProbe: UInt32 = 0
    var audioTimestamp = UInt32.random(in: 0...UInt32.max)
    var videoDue = Instant.zero
    var videoProbe: UInt32 = 0
    var videoTimestamp = UInt32.random(in: 0...UInt32.max)
    var keyframePending = true
    var lastKeyframe = Instant.zero
    var delayed: [(due: Instant, bytes: [UInt8])] = []
    /// RFC 6464 level, distinct per member (the host loudest), so that a
    /// loudest-N selection is stable and does not show up as loss; members
    /// past the scenario's `speakersPerSession` send silence.
    var audioLevel: RTPAudioLevel {
        speaks ? RTPAudioLevel(voiceActivity: true, level: UInt8(min(127, 20 + origin.member)))
            : RTPAudioLevel(voiceActivity: false, level: 127)
    }
    /// Whether this member speaks (`Scenario.speakersPerSession`) or sends silence.
    var speaks: Bool {
        let speakers = context.scenario.speakersPerSession
        return speakers == 0 || origin.member < speakers
    }

    // Receiving.
    /// Which packets are decrypted (`RunContext.headerStatistics`); the rest are measured by header alone.
    var sampler: ReceiveSampler
    /// By header (`RunContext.headerStatistics`): each receive slot's stream, by SSRC, in the
    /// slot's RTP sequence numbers, which the server keeps continuous across source switches.
    var slotStreams: [UInt32: SlotStream] = [:]
    /// By probe (every packet decrypted): each origin's stream.
    var streams: [UInt64: StreamReceiveStats] = [:]
    var moves = MoveLatencyTracker()
    /// The server's audio mix (no probe): loss from its RTP sequence numbers,
    /// which the server keeps continuous per slot, and jitter from their
    /// 20 ms spacing; no latency, since a mix carries no send time.
    var mixStream = StreamReceiveStats()
    var mixSequence = SequenceUnwrapper()
    /// Rooms as this participant hears of them, to judge media from its own session.
    var judge: IsolationJudge
    /// Member index of every participant id seen in a roster (rosters are per room).
    var memberByID: [String: Int] = [:]
    /// The latest session shape (the host uses it to pick whom to move).
    var session: Signalling.SessionShape?
    var commandID = 10

    init(origin: OriginID, context: RunContext, driver: LoopDriver) {
        self.origin = origin
        self.context = context
        self.driver = driver
        judge = IsolationJudge(receiver: origin.member)
        sampler = context.sampler
    }

    var isConnected: Bool { phase == .live }

    /// Packets expected and received so far over all streams (live loss display).
    var liveCounts: (expected: Int, received: Int) {
        let byHeader = slotStreams.values.reduce((0, 0)) { ($0.0 + $1.stats.expected, $0.1 + $1.stats.received) }
        return streams.values.reduce(byHeader) { ($0.0 + $1.expected, $0.1 + $1.received) }
    }

    // MARK: Joining

    /// Opens the UDP socket, then the WebSocket, then sends `join`.
    func start() {
        phase = .signalling
        wsStart = Clock.now()
        driver.stats.add(.joinsStarted)
        // No SO_REUSEADDR: with it, Linux's port-0 bind hands out ports that
        // other such sockets hold (measured: 132 duplicates in 3 000 binds),
        // and two participants on one address look like one to the server.
        DatagramBootstrap(group: driver.loop)
            .channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(participant: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    udp = channel
                    guard phase == .signalling else { channel.close(promise: nil); return }
                    let ws = WebSocketConnection(loop: driver.loop)
                    ws.delegate = self
                    self.ws = ws
                    let entry = context.entries.randomElement()!
                    ws.connect(host: entry.host, port: entry.port, path: entry.path)
                case .failure(let error):
                    fail("udp-bind", "\(error)")
                }
            }
    }

    func fail(_ reason: String, _ detail: String) {
        guard phase != .gone else { return }
        if let lost = serverLost, phase == .signalling, Clock.now() - lost.at < Self.rejoinFor {
            // The server is not back yet: try again, not a failed join.
            driver.rejoinAfterServerLoss(session: origin.session, member: origin.member, lostAt: lost.at,
                                         attempt: lost.attempt + 1, retryAfter: nil)
            teardown()
            return
        }
        if !joinComplete && phase != .leaving {
            driver.stats.add(.joinsFailed)
            driver.stats.joinFailures[reason, default: 0] += 1
            driver.note("\(origin): join failed (\(reason)): \(detail)")
        }
        teardown()
    }

    func learn(_ roster: [Signalling.RosterEntry]) {
        for e in roster { if let m = RunContext.member(fromName: e.name) { memberByID[e.participantID] = m } }
    }

    func sessionChanged(_ shape: Signalling.SessionShape) {
        if let old = session, old.version > shape.version { return }
        session = shape
        var map = RoomMap()
        for room in shape.rooms {
            for pid in room.members { if let m = memberByID[pid] { map.roomOf[m] = room.id } }
            map.listeners[room.id] = Set(room.listeners.compactMap { memberByID[$0] })
        }
        map.roomOf[origin.member] = shape.rooms.first(where: { $0.members.contains(participantID) })?.id ?? map.roomOf[origin.member]
        if let latency = moves.roomsChanged(from: judge.current, to: map, me: origin.member,
                                            commandSentAt: context.lastCommand(session: origin.session)) {
            driver.stats.moveLatency.record(latency)
        }
        judge.update(map, now: Clock.now())
    }

    func joined(sdp: String, roster: [Signalling.RosterEntry], room: String) {
        let now = Clock.now()
        learn(roster)
        driver.stats.add(.joinsSignalled)
        driver.stats.signallingTime.record(now - wsStart)
        expectedPeers = roster.filter { $0.participantID != participantID && $0.room == room }.count
        // The offer went out in `join`; see webSocketOpened.
        guard let pending = pendingClient else { return fail("internal", "joined before join") }
        do { try pending.accept(answer: sdp, now: now) } catch { return fail("bad-answer", "\(error)") }
        guard let address = pending.server, Self.isLoopback(address) else {
            return fail("non-loopback-candidate", "the answer's candidate is not on 127.0.0.1; refusing to send there")
        }
        // The candidate's own loopback address: in scale-out each node has its own (127.0.0.x).
        let ip = address.isIPv4 ? address.ipBytes.map(String.init).joined(separator: ".") : "127.0.0.1"
        guard let socketAddress = try? SocketAddress(ipAddress: ip, port: Int(address.port)) else {
            return fail("bad-answer", "candidate port")
        }
        // The server may grant fewer receive slots than offered (its maxSlots):
        // count the slots its answer filled, so "every peer" means every peer
        // that can be seen at once.
        let mids = Set(pending.midBySSRC.values)
        let granted = max(mids.filter { $0.hasPrefix("a") && $0.count > 1 }.count,
                          mids.filter { $0.hasPrefix("v") && $0.count > 1 }.count)
        expectedPeers = min(expectedPeers, granted > 0 ? granted : context.scenario.effectiveSlots)
        self.client = pending
        serverAddress = socketAddress
        answerAt = now
        phase = .connecting
        tick(now: now)
    }

    var pendingClient: ClientParticipant?

    static func isLoopback(_ address: StunAddress) -> Bool {
        let b = address.ipBytes
        return address.isIPv4 ? b.first == 127 : b == [UInt8](repeating: 0, count: 15) + [1]
    }

    // MARK: Leaving

    /// Sends `leave`, then closes everything shortly after.
    func leave(counted: Bool = true) {
        guard phase != .gone, phase != .leaving else { return }
        phase = .leaving
        if counted { driver.stats.add(.leaves) }
        ws?.send(text: Signalling.leave(id: "2"))
        driver.loop.scheduleTask(in: .milliseconds(500)) { [self] in teardown() }
    }

    /// Stops without a word, like a laptop lid shut: no `leave`, no Close,
    /// no FIN, no more consent or media. The TCP connection stays open but
    /// silent (the driver closes it at the end of the run), so the server
    /// must notice through ICE consent (RFC 7675) or its own timeouts.
    func vanish() {
        guard phase != .gone else { return }
        driver.stats.add(.vanishes)
        phase = .leaving
        if let ws {
            ws.delegate = nil
            driver.ghosts.append(ws)
            self.ws = nil
        }
        teardown()
    }

    /// Closes sockets and folds the receive statistics into the loop's.
    func teardown() {
        guard phase != .gone else { return }
        phase = .gone
        ws?.close()
        ws = nil
        udp?.close(promise: nil)
        udp = nil
        client = nil
        foldStatistics()
        driver.removed(self)
    }

    func foldStatistics() {
        for (key, s) in streams { foldStream(key: key, s) }
        streams.removeAll()
        // No loss is injected when statistics come from headers (`RunContext.headerStatistics`).
        for (_, s) in slotStreams { driver.stats.absorb(s.stats) { _ in false } }
        slotStreams.removeAll()
        if mixStream.received > 0 { driver.stats.absorb(mixStream) { _ in false } }
        mixStream = StreamReceiveStats()
        for v in judge.resolve(now: Clock.now() + judge.grace + judge.grace) { confirm(v) }
    }

    func foldStream(key: UInt64, _ s: StreamReceiveStats) {
        let injector = context.injector
        let origin = UInt32(truncatingIfNeeded: key >> 1)
        let kind: MediaKind = key & 1 == 0 ? .audio : .video
        driver.stats.absorb(s) { injector.dropsUplink(origin: origin, kind: kind, sequence: $0) }
    }

    func confirm(_ v: IsolationJudge.Suspect) {
        let rooms = judge.current
        driver.stats.violation("\(origin) in room \(rooms?.roomOf[origin.member] ?? "?") received \(v.kind) from member "
                               + "\(v.sender) in room \(rooms?.roomOf[v.sender] ?? "?")")
    }

    // MARK: Host commands

    /// Carries out a breakout step as this session's host (member 0).
    func host(_ e: ScenarioEvent) {
        guard phase == .live || phase == .connecting, let ws else { return }
        func send(_ c: Signalling.Command) {
            commandID += 1
            ws.send(text: Signalling.command(c, id: String(commandID)))
        }
        let roomID = "r\(max(1, e.rooms))"
        switch e.action {
        case .split:
            send(.createRooms(names: (1...max(1, e.rooms)).map { "Room \($0)" }))
            send(.assignBalanced)
            send(.openRooms)
        case .move:
            // Anyone but the host who is not already in the target room.
            let candidates = (session?.rooms ?? []).filter { $0.id != roomID }.flatMap(\.members)
                .filter { $0 != participantID }
            context.commandSent(session: origin.session, at: Clock.now())
            for pid in candidates.prefix(e.count) { send(.move(participantID: pid, room: roomID)) }
        case .listenIn:
            send(.listen(room: e.rooms > 0 ? roomID : nil))
        case .close:
            context.commandSent(session: origin.session, at: Clock.now())
            send(.closeRooms(countdown: 0))
        case .leave, .vanish, .rejoin:
            break
        }
    }

    // MARK: Datagrams

    func flush(now: Instant) {
        guard let client else { return }
        let out = client.poll()
        for d in out.datagrams { write(d) }
        handle(out.events, now: now)
    }

    func write(_ bytes: [UInt8]) {
        guard let udp, let serverAddress else { return }
        udp.write(AddressedEnvelope(remoteAddress: serverAddress, data: udp.allocator.buffer(bytes: bytes)), promise: nil)
    }

    /// A datagram from the server (or anyone: ClientParticipant checks).
    /// With header statistics, SRTP is measured from its clear header and
    /// only the sampled packets are authenticated and decrypted.
    func received(_ bytes: [UInt8]) {
        guard let client, phase == .connecting || phase == .live else { return }
        let now = Clock.now()
        driver.stats.add(.bytesReceived, bytes.count)
        if context.headerStatistics, client.isConnected, PacketClass.classify(bytes) == .rtp,
           let header = try? RTPHeader(parsing: bytes) {
            receivedHeader(header, packet: bytes, now: now)
            guard sampler.shouldDecrypt(ssrc: header.ssrc) else { return }
        }
        client.receive(bytes, now: now)
        flush(now: now)
    }

    /// Loss, jitter and latency of one SRTP packet from its clear header:
    /// the slot's sequence number, and the sender's abs-send-time (the
    /// harness's own clock, so one-way delay needs no sync). The server's
    /// mix carries no send time: its sequence stands in for one (20 ms
    /// frames), for jitter only. Nothing here is authenticated: a forged
    /// packet would count, but only the server sends to this socket.
    func receivedHeader(_ header: RTPHeader, packet: [UInt8], now: Instant) {
        driver.stats.add(.rtpReceived)
        driver.interval.packetsIn += 1
        var sent: Instant?
        for e in header.extensionElements(in: packet) where e.id == ClientOffer.sendTimeID {
            guard let v = AbsSendTime.value(from: packet[e.range]) else { continue }
            let delay = AbsSendTime.delay(sent: v, now: now)
            sent = Instant(nanoseconds: now.nanoseconds &- UInt64(bitPattern: delay.nanoseconds))
        }
        let ext = slotStreams[header.ssrc, default: SlotStream()].unwrapper.unwrap(header.sequenceNumber)
        guard ext > -SlotStream.sequenceBase else { return }
        let sequence = UInt32(truncatingIfNeeded: ext + SlotStream.sequenceBase)
        let fresh = slotStreams[header.ssrc, default: SlotStream()].stats.record(
            sequence: sequence, sendTime: sent ?? Instant(nanoseconds: UInt64(sequence) * 20_000_000), arrival: now)
        guard fresh, let sent else { return }
        let latency = now - sent
        if header.payloadType == ClientOffer.vp8PayloadType {
            driver.stats.videoLatency.record(latency)
        } else {
            driver.stats.audioLatency.record(latency)
        }
        driver.interval.latency.record(latency)
    }

    /// The socket's batch of reads is over.
    func readComplete() { udp?.flush() }

    func handle(_ events: [ClientParticipant.Event], now: Instant) {
        for event in events {
            switch event {
            case .iceConnected:
                break
            case .connected:
                guard phase == .connecting else { continue }
                phase = .live
                connectedAt = now
                driver.stats.add(.mediaConnected)
                driver.stats.iceDTLSTime.record(now - answerAt)
                // Random phase so hundreds of senders do not fire in the same tick.
                audioDue = now + .microseconds(Int64.random(in: 0..<20_000))
                videoDue = now + .microseconds(Int64.random(in: 0..<20_000))
                keyframePending = true
                checkJoinComplete(now: now)
            case .failed(let why):
                fail("dtls", why)
            case .rtp(_, let header, let packet):
                receivedRTP(header: header, packet: packet, now: now)
            case .rtcp(let bytes):
                guard let packets = try? RTCPCompound.parse(bytes) else { continue }
                for p in packets {
                    switch p {
                    case .pictureLossIndication, .fullIntraRequest:
                        driver.stats.add(.pliReceived)
                        keyframePending = true
                    default: break
                    }
                }
            }
        }
    }
}

extension SimulatedParticipant: WebSocketConnectionDelegate {
    func webSocketOpened(_ connection: WebSocketConnection) {
        let client = ClientParticipant(publishAudio: context.scenario.media.audio,
                                       publishVideo: context.scenario.media.video,
                                       slots: context.scenario.effectiveSlots, certificate: context.certificate)
        pendingClient = client
        connection.send(text: Signalling.join(id: "1", token: context.token(for: origin), name: context.name(origin),
                                              sdp: client.offer.sdp, audioMode: context.scenario.wireAudioMode))
    }

    func webSocket(_ connection: WebSocketConnection, text: [UInt8]) {
        let event: Signalling.ServerEvent
        do { event = try Signalling.decode(text) } catch { return fail("bad-json", error.description) }
        switch event {
        case .joined(let pid, let room, let sdp, let roster):
            participantID = pid
            joined(sdp: sdp, roster: roster, room: room)
        case .slots:
            driver.stats.add(.slotsMessages)
            sampler.slotsChanged()
        case .roster(let entries):
            driver.stats.add(.rosterMessages)
            learn(entries)
        case .session(let shape):
            sessionChanged(shape)
        case .ok:
            driver.stats.add(.commandsOK)
        case .error(let code, let message):
            if phase == .signalling { return fail(code, message) }
            driver.stats.add(.commandsFailed)
            driver.note("\(origin): server error \(code): \(message)")
        case .left(let reason):
            if phase == .signalling || phase == .connecting {
                // Removed before media flowed (e.g. the DTLS handshake timed out): a failed join.
                return fail("removed: \(reason ?? "no reason")", "left before media connected")
            }
            if phase != .leaving {
                driver.stats.add(.removedByServer)
                driver.note("\(origin): removed by the server (\(reason ?? "no reason"))")
            }
            teardown()
        case .redirect(let url):
            guard phase == .signalling else { return }
            guard redirects < Self.maxRedirects else { return fail("too-many-redirects", "more than \(Self.maxRedirects)") }
            guard let target = LoadTestTarget(loopbackURL: url) else {
                return fail("bad-redirect", "redirect to a URL off loopback or not ws://; not followed")
            }
            redirects += 1
            driver.stats.add(.redirects)
            // The server closes the old socket; the same join goes to the session's node.
            connection.delegate = nil
            connection.close()
            let next = WebSocketConnection(loop: driver.loop)
            next.delegate = self
            ws = next
            next.connect(host: target.host, port: target.port, path: target.path)
        case .serverShutdown(let retryAfter):
            shutdownNotice = (Clock.now(), retryAfter)
        case .other:
            break
        }
    }

    func webSocketClosed(_ connection: WebSocketConnection, code: UInt16?, error: (any Error)?) {
        guard phase != .gone, phase != .leaving else { return }
        if phase == .signalling {
            fail("websocket", error.map { "\($0)" } ?? "closed with \(code.map(String.init) ?? "no code")")
        } else {
            driver.note("\(origin): WebSocket closed (\(code.map(String.init) ?? "no code")) while \(phase)")
            // The server went away (a restart or a crash): join again with the same link.
            let notice = shutdownNotice
            driver.rejoinAfterServerLoss(session: origin.session, member: origin.member, lostAt: notice?.at ?? Clock.now(),
                                         attempt: 1, retryAfter: notice?.retryAfter)
            teardown()
        }
    }
}

/// Hands datagrams to the participant.
private final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    unowned let participant: SimulatedParticipant

    init(participant: SimulatedParticipant) { self.participant = participant }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var envelope = unwrapInboundIn(data)
        guard let bytes = envelope.data.readBytes(length: envelope.data.readableBytes) else { return }
        participant.received(bytes)
    }

    func channelReadComplete(context: ChannelHandlerContext) { participant.readComplete() }
}

/// One receive slot measured by header (`SimulatedParticipant.receivedHeader`).
struct SlotStream {
    var unwrapper = SequenceUnwrapper()
    var stats = StreamReceiveStats()
    /// Added to the unwrapped sequence, so that a packet reordered before the first stays positive.
    static let sequenceBase: Int64 = 1 << 20
}
