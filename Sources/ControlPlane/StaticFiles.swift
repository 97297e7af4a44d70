import Foundation

/// The web client's files, read into memory once at start. Serving only paths that
/// were listed at load time makes path traversal impossible by construction; the
/// client is a few hundred kilobytes, so memory is not a concern.
public struct StaticFiles: Sendable {
    /// One servable file.
    public struct File: Sendable, Equatable {
        /// The file's bytes.
        public var bytes: [UInt8]
        /// Its `Content-Type`.
        public var contentType: String

        /// Creates a file entry.
        public init(bytes: [UInt8], contentType: String) {
            self.bytes = bytes
            self.contentType = contentType
        }
    }

    /// URL path ("/index.html") → file.
    public private(set) var files: [String: File]

    /// An explicit table, for tests and embedding.
    public init(files: [String: File]) { self.files = files }

    /// Loads every regular file under `directory`, recursively. Hidden files are skipped.
    public init(directory: String) throws(ControlPlaneError) {
        let root = URL(fileURLWithPath: directory, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue,
              let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                                              options: [.skipsHiddenFiles]) else {
            throw .webRootUnreadable(directory)
        }
        var files: [String: File] = [:]
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(prefix), let data = FileManager.default.contents(atPath: path) else { continue }
            let relative = String(path.dropFirst(prefix.count))
            files["/" + relative] = File(bytes: Array(data), contentType: Self.contentType(forPath: relative))
        }
        self.files = files
    }

    /// The placeholder client shipped in this module's resources (`Sources/ControlPlane/Web`).
    public static func bundled() throws(ControlPlaneError) -> StaticFiles {
        guard let url = Bundle.module.url(forResource: "Web", withExtension: nil) else {
            throw .webRootUnreadable("<bundle>/Web")
        }
        return try StaticFiles(directory: url.path)
    }

    /// The file for a request path (query already removed); "/" and "/dir/" mean their index.html.
    public func lookup(_ path: String) -> File? {
        if path.hasSuffix("/") { return files[path + "index.html"] }
        return files[path]
    }

    /// `Content-Type` by extension; unknown types are served as opaque bytes.
    static func contentType(forPath path: String) -> String {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json", "map": return "application/json"
        case "webmanifest": return "application/manifest+json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "wasm": return "application/wasm"
        case "txt": return "text/plain; charset=utf-8"
        case "woff2": return "font/woff2"
        default: return "application/octet-stream"
        }
    }
}
