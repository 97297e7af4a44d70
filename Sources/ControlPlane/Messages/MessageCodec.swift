#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON to and from the message enums. Decoding maps every failure to the `error`
/// reply the client should get (bad-json, bad-message, unknown-type), keeping the
/// request id whenever the envelope had a readable one.
public enum MessageCodec {
    /// Just the fields every client message has, each optional, read first so that an
    /// error about the rest can still echo the id.
    private struct Envelope: Decodable {
        var type: String?
        var id: String?
    }

    /// Parses one text frame's payload.
    public static func decodeClientMessage(_ bytes: [UInt8]) -> Result<ClientMessage, ErrorReply> {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        let envelope: Envelope
        do {
            envelope = try decoder.decode(Envelope.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            return .failure(ErrorReply(code: .badJSON, message: "not valid JSON"))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            return .failure(ErrorReply(code: .badMessage, message: "a message is a JSON object"))
        } catch {
            return .failure(ErrorReply(code: .badMessage, message: "`type` and `id` must be strings"))
        }
        guard let type = envelope.type else {
            return .failure(ErrorReply(id: envelope.id, code: .badMessage, message: "missing `type`"))
        }
        guard ClientMessage.knownTypes.contains(type) else {
            return .failure(ErrorReply(id: envelope.id, code: .unknownType, message: "unknown type \"\(type.prefix(64))\""))
        }
        do {
            return .success(try decoder.decode(ClientMessage.self, from: data))
        } catch let error as DecodingError {
            return .failure(ErrorReply(id: envelope.id, code: .badMessage, message: describe(error, type: type)))
        } catch {
            return .failure(ErrorReply(id: envelope.id, code: .badMessage, message: "invalid \(type) message"))
        }
    }

    /// Encodes a server message as compact JSON.
    public static func encode(_ message: ServerMessage) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Our own value types of strings, numbers and arrays: encoding cannot fail.
        return Array(try! encoder.encode(message))
    }

    /// Encodes a client message (for clients and tests).
    public static func encode(_ message: ClientMessage) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(message))
    }

    /// Decodes a server message (for clients and tests).
    public static func decodeServerMessage(_ bytes: [UInt8]) throws -> ServerMessage {
        try JSONDecoder().decode(ServerMessage.self, from: Data(bytes))
    }

    /// A short reason naming the field, without echoing peer data at length.
    private static func describe(_ error: DecodingError, type: String) -> String {
        switch error {
        case .keyNotFound(let key, _):
            return "\(type): missing `\(key.stringValue)`"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "\(type): invalid `\(field)`"
        @unknown default:
            return "invalid \(type) message"
        }
    }
}
