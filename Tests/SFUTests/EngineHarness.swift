import CohortClient
import CohortTestSupport
import DTLS
import RTP
@testable import SFU
import STUN
import Wire
import XCTest

/// Drives one `MediaEngine` and several `ClientParticipant`s over a
/// `VirtualNetwork` with a manual clock: everything sans-IO, faster than real time.
final class EngineHarness {
    let clock = ManualClock()
    var network: VirtualNetwork
    let engine: MediaEngine
    let serverAddress = StunAddress("127.0.0.1:40000")!
    var clients: [String: (client: ClientParticipant, address: StunAddress)] = [:]
    var participantIDs: [String: ParticipantID] = [:]
    var received: [String: [ClientParticipant.Event]] = [:]
    /// Datagrams the server sent to addresses no client holds (a spoofed victim, an old address), by address.
    var unclaimed: [StunAddress: [[UInt8]]] = [:]
    let events = RecordingDelegate()
    static let certificate = try! DTLSCertificate()

    init(conditions: VirtualNetwork.Conditions = .init(delay: .milliseconds(2)), seed: UInt64 = 1,
         consentTimeout: TimeSpan = .seconds(30), waitingRoom: Bool = false) {
        network = VirtualNetwork(conditions: conditions, seed: seed)
        engine = MediaEngine(configuration: EngineConfiguration(
            certificate: Self.certificate, candidateHost: "127.0.0.1", candidatePort: 40000,
            consentTimeout: consentTimeout, maxSlots: 4, waitingRoom: waitingRoom))
        engine.delegate = events
    }

    /// Joins `name` into `room` and runs until its media is connected
    /// (with `connect: false` the client has not applied the answer yet:
    /// `connect(_:answer:)` does that later).
    @discardableResult
    func join(_ name: String, room: RoomID = .main, session: String = "s1", audio: Bool = true, video: Bool = true,
              slots: Int = 4, role: Role = .participant, mixed: Bool = false, lossRepair: Bool = false,
              transportWide: Bool = false, identity: String? = nil, screen: Bool = false, simulcast: [String] = [],
              connect: Bool = true) throws -> JoinAnswer {
        let client = ClientParticipant(publishAudio: audio, publishVideo: video, slots: slots, certificate: Self.certificate,
                                       lossRepair: lossRepair, transportWide: transportWide, screen: screen,
                                       simulcast: simulcast)
        let address = StunAddress("127.0.0.1:\(5000 + clients.count)")!
        clients[name] = (client, address)
        let answer = try engine.join(JoinRequest(sessionID: session, room: room, name: name, role: role,
                                                 offer: client.offer.sdp, mixedAudio: mixed, identity: identity),
                                     now: clock.now)
        participantIDs[name] = answer.participantID
        if connect { try self.connect(name, answer: answer) }
        return answer
    }

    /// `name`'s client applies `answer` and the system runs until its media is connected.
    func connect(_ name: String, answer: JoinAnswer) throws {
        guard let client = clients[name]?.client else { return }
        try client.accept(answer: answer.answer, now: clock.now)
        run(for: .milliseconds(1)) // let the first checks go
        let deadline = clock.now + .seconds(5)
        while !client.isConnected && clock.now < deadline { run(for: .milliseconds(10)) }
    }

    /// Runs the whole system for `span` of virtual time.
    func run(for span: TimeSpan) {
        let end = clock.now + span
        while true {
            flushClients()
            var transmits = TransmitQueue()
            for d in network.deliver(upTo: clock.now) {
                if d.to == serverAddress.description {
                    engine.receive(d.bytes, from: StunAddress(d.from)!, now: clock.now, transmits: &transmits)
                } else if let c = clients.values.first(where: { $0.address.description == d.to }) {
                    c.client.receive(d.bytes, now: clock.now)
                } else if let to = StunAddress(d.to) {
                    unclaimed[to, default: []].append(d.bytes)
                }
            }
            if let d = engine.nextDeadline, d <= clock.now {
                engine.handleTimeout(now: clock.now, transmits: &transmits)
                // A deadline still due after its timeout ran would spin the real event loop.
                if let again = engine.nextDeadline, again <= clock.now {
                    XCTFail("the engine's deadline \(again) is still due after handleTimeout at \(clock.now)")
                }
            }
            // The heaps' earliest deadline is what asking every owner finds:
            // no timer was left out when its owner changed.
            XCTAssertEqual(engine.nextDeadline, engine.scannedDeadline, "deadline heap at \(clock.now)")
            for t in transmits { network.send(t.bytes, from: serverAddress.description, to: t.destination.description, now: clock.now) }
            for (_, c) in clients { if let d = c.client.nextDeadline, d <= clock.now { c.client.handleTimeout(now: clock.now) } }
            flushClients()
            let candidates = [network.nextArrival, engine.nextDeadline] + clients.values.map { $0.client.nextDeadline }
            let next = candidates.compactMap { $0 }.filter { $0 > clock.now }.min() ?? end
            if next > end { clock.advance(to: end); break }
            clock.advance(to: next)
            if clock.now >= end && network.nextArrival.map({ $0 > end }) ?? true { break }
        }
    }

    private func flushClients() {
        for (name, c) in clients {
            let out = c.client.poll()
            received[name, default: []] += out.events
            for d in out.datagrams { network.send(d, from: c.address.description, to: serverAddress.description, now: clock.now) }
        }
    }

    /// `name`'s NAT rebinds: from now on it sends from, and receives at, `address`.
    func rebind(_ name: String, to address: StunAddress) {
        guard let c = clients[name] else { return }
        clients[name] = (c.client, address)
    }

    /// A datagram to the server from any address (a spoofer's).
    func inject(_ bytes: [UInt8], from address: StunAddress) {
        network.send(bytes, from: address.description, to: serverAddress.description, now: clock.now)
    }

    /// `name` sends one packet of its screen share whose payload names it (a keyframe start when asked).
    func sendScreen(_ name: String, timestamp: UInt32, keyframe: Bool = false) {
        guard let c = clients[name]?.client, let s = c.offer.screenSSRC else { return }
        let header: [UInt8] = [0x10, keyframe ? 0x00 : 0x01]
        c.sendRTP(ssrc: s, payloadType: ClientOffer.vp8PayloadType, timestamp: timestamp, marker: true,
                  payload: header + Array("screen:\(name)".utf8))
    }

    /// RTP packets `name` received, by the mid of the slot they came through.
    func rtpByMid(_ name: String) -> [String: [(header: RTPHeader, packet: [UInt8])]] {
        guard let c = clients[name]?.client else { return [:] }
        var out: [String: [(RTPHeader, [UInt8])]] = [:]
        for e in received[name] ?? [] {
            if case .rtp(let ssrc, let h, let p) = e { out[c.midBySSRC[ssrc] ?? "?", default: []].append((h, p)) }
        }
        return out
    }

    /// `name` sends one audio packet whose payload names it, and one video packet (a keyframe start when asked).
    func sendMedia(_ name: String, audioTimestamp: UInt32, keyframe: Bool = false) {
        guard let c = clients[name]?.client else { return }
        if let a = c.offer.audioSSRC {
            c.sendRTP(ssrc: a, payloadType: ClientOffer.opusPayloadType, timestamp: audioTimestamp,
                      extensions: [.audioLevel(id: ClientOffer.audioLevelID, RTPAudioLevel(voiceActivity: true, level: 30))],
                      payload: Array("audio:\(name)".utf8))
        }
        if let v = c.offer.videoSSRC {
            let header: [UInt8] = [0x10, keyframe ? 0x00 : 0x01]
            c.sendRTP(ssrc: v, payloadType: ClientOffer.vp8PayloadType, timestamp: audioTimestamp &* 2, marker: true,
                      payload: header + Array("video:\(name)".utf8))
        }
    }
}

/// Records the engine's events.
final class RecordingDelegate: MediaEngineDelegate, @unchecked Sendable {
    var slots: [(ParticipantID, [SlotAssignment])] = []
    var rosters: [(RoomID, [RosterMember])] = []
    var removed: [(ParticipantID, RemovalReason)] = []
    var connected: [ParticipantID] = []
    func engine(slotsChanged slots: [SlotAssignment], version: Int, participant: ParticipantID, session: String) {
        self.slots.append((participant, slots))
    }
    var downlink: [(ParticipantID, DownlinkState)] = []
    func engine(downlinkChanged state: DownlinkState, participant: ParticipantID, session: String) {
        downlink.append((participant, state))
    }
    func engine(rosterChanged roster: [RosterMember], room: RoomID, recipients: [ParticipantID], session: String) { rosters.append((room, roster)) }
    func engine(removed participant: ParticipantID, reason: RemovalReason, session: String) { removed.append((participant, reason)) }
    func engine(mediaConnected participant: ParticipantID, session: String) { connected.append(participant) }
    var views: [ParticipantID: SessionView] = [:]
    /// Session views sent, per recipient.
    var viewCounts: [ParticipantID: Int] = [:]
    var messages: [(SessionMessage, [ParticipantID])] = []
    func engine(sessionChanged view: SessionView, recipient: ParticipantID, session: String) {
        views[recipient] = view
        viewCounts[recipient, default: 0] += 1
    }
    func engine(message: SessionMessage, recipients: [ParticipantID], session: String) { messages.append((message, recipients)) }
    var records: [RecordEvent] = []
    func engine(record: RecordEvent) { records.append(record) }
}
