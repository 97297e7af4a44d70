import Foundation

/// The control-plane messages the load test sends and reads
/// (docs/PROTOCOL.md). Everything about the wire shape lives here, so a
/// change of the protocol touches one file. Unknown fields are ignored, as
/// the protocol asks of clients.
enum Signalling {
    /// A server message, reduced to what the harness uses.
    enum ServerEvent {
        /// Reply to `join`.
        case joined(participantID: String, room: String, sdp: String, roster: [RosterEntry])
        /// The slot map changed (its shape is not interpreted: media carries its own origin).
        case slots
        /// The roster changed.
        case roster([RosterEntry])
        /// A request failed or the server is about to close.
        case error(code: String, message: String)
        /// Our `leave` was answered, or the server removed us.
        case left(reason: String?)
        /// A command was carried out.
        case ok(id: String)
        /// The session's shape (rooms, members, listeners) changed.
        case session(SessionShape)
        /// The session is on another node: join there (docs/SCALE-OUT.md).
        case redirect(url: String)
        /// The server is stopping; join again after `retryAfter` seconds.
        case serverShutdown(retryAfter: Int)
        /// A message type this harness does not know (broadcast, chat, ...).
        case other(String)
    }

    /// One roster entry.
    struct RosterEntry {
        var participantID: String
        var name: String
        var room: String
    }

    /// The part of a `session` message the harness uses.
    struct SessionShape {
        struct Room {
            var id: String
            var members: [String]
            var listeners: [String]
        }
        var version: Int
        var rooms: [Room]
    }

    /// Host commands for breakout choreography (docs/PROTOCOL.md "Session commands").
    enum Command {
        case createRooms(names: [String])
        case assignBalanced
        case openRooms
        case move(participantID: String, room: String)
        case listen(room: String?)
        case closeRooms(countdown: Int)
    }

    /// A session command with request id `id`.
    static func command(_ c: Command, id: String) -> String {
        var o: [String: Any] = ["id": id]
        switch c {
        case .createRooms(let names): o["type"] = "create-rooms"; o["names"] = names
        case .assignBalanced: o["type"] = "assign"; o["balanced"] = true
        case .openRooms: o["type"] = "open-rooms"
        case .move(let pid, let room): o["type"] = "move"; o["participantId"] = pid; o["room"] = room
        case .listen(let room): o["type"] = "listen"; o["room"] = room ?? NSNull()
        case .closeRooms(let countdown): o["type"] = "close-rooms"; o["countdown"] = countdown
        }
        return encode(o)
    }

    /// Why a server text could not be read.
    struct DecodeError: Error, CustomStringConvertible {
        var description: String
    }

    /// `join` with our offer (docs/PROTOCOL.md "join").
    static func join(id: String, token: String, name: String, sdp: String, audioMode: String) -> String {
        encode(["type": "join", "id": id, "token": token, "name": name, "sdp": sdp, "audioMode": audioMode])
    }

    /// `leave`.
    static func leave(id: String) -> String { encode(["type": "leave", "id": id]) }

    private static func encode(_ object: [String: Any]) -> String {
        // JSONSerialization escapes the SDP's CR LF as the protocol's JSON needs.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads one server text frame.
    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> ServerEvent {
        guard let any = try? JSONSerialization.jsonObject(with: Data(bytes)),
              let o = any as? [String: Any], let type = o["type"] as? String else {
            throw DecodeError(description: "not a JSON object with a type")
        }
        func roster(_ v: Any?) -> [RosterEntry] {
            (v as? [[String: Any]] ?? []).compactMap { e in
                guard let id = e["participantId"] as? String else { return nil }
                return RosterEntry(participantID: id, name: e["name"] as? String ?? "", room: e["room"] as? String ?? "main")
            }
        }
        switch type {
        case "joined":
            guard let pid = o["participantId"] as? String, let sdp = o["sdp"] as? String else {
                throw DecodeError(description: "joined without participantId or sdp")
            }
            return .joined(participantID: pid, room: o["room"] as? String ?? "main", sdp: sdp, roster: roster(o["roster"]))
        case "slots": return .slots
        case "roster": return .roster(roster(o["participants"]))
        case "error": return .error(code: o["code"] as? String ?? "?", message: o["message"] as? String ?? "")
        case "left": return .left(reason: o["reason"] as? String)
        case "redirect":
            guard let url = o["url"] as? String else { throw DecodeError(description: "redirect without url") }
            return .redirect(url: url)
        case "ok": return .ok(id: o["id"] as? String ?? "")
        case "server-shutdown": return .serverShutdown(retryAfter: o["retryAfter"] as? Int ?? 5)
        case "session":
            let rooms = (o["rooms"] as? [[String: Any]] ?? []).compactMap { r -> SessionShape.Room? in
                guard let id = r["id"] as? String else { return nil }
                return SessionShape.Room(id: id, members: r["members"] as? [String] ?? [],
                                         listeners: r["listeners"] as? [String] ?? [])
            }
            return .session(SessionShape(version: o["version"] as? Int ?? 0, rooms: rooms))
        default: return .other(type)
        }
    }
}
