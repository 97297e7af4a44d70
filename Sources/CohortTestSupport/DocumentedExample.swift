import Foundation

/// Reads the examples a document of this repository shows, so that tests can
/// pin them (docs/CLIENTS.md): an example is the fenced code block right after
/// a marker line `<!-- pinned: NAME -->`. The test sees exactly the text a
/// reader sees, and fails when the document and the code drift apart.
public enum DocumentedExample {
    /// Why an example could not be read.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, naming the document and the example.
        public var description: String
    }

    /// The repository's root directory, found from this file's own path.
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)          // Sources/CohortTestSupport/DocumentedExample.swift
            .deletingLastPathComponent()        // Sources/CohortTestSupport
            .deletingLastPathComponent()        // Sources
            .deletingLastPathComponent()
    }

    /// The lines of example `name` in `document` (a path from the repository
    /// root), without the fences, the fence's indent and line endings. The
    /// document must use LF line endings (a CR anywhere is refused), so that
    /// a caller who joins the lines with CRLF, as SDP needs, knows exactly
    /// what it compares.
    public static func lines(_ name: String, in document: String) throws -> [String] {
        let url = repositoryRoot.appendingPathComponent(document)
        guard let data = try? Data(contentsOf: url) else {
            throw Failure(description: "\(document): cannot read \(url.path)")
        }
        // Checked on bytes: in a Swift String, CRLF is one Character.
        guard !data.contains(UInt8(ascii: "\r")) else {
            throw Failure(description: "\(document) has a CR; use LF line endings")
        }
        let text = String(decoding: data, as: UTF8.self)
        let all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let marker = "<!-- pinned: \(name) -->"
        let at = all.indices.filter { all[$0].trimmingCharacters(in: .whitespaces) == marker }
        guard let markerLine = at.first else { throw Failure(description: "\(document): no \(marker)") }
        guard at.count == 1 else { throw Failure(description: "\(document): \(marker) appears \(at.count) times") }
        // The block may be indented (inside a list item); its lines lose that indent.
        let open = markerLine + 1
        guard open < all.count, all[open].trimmingCharacters(in: .whitespaces).hasPrefix("```") else {
            throw Failure(description: "\(document): \(marker) is not followed by a fenced block on the next line")
        }
        let indent = String(all[open].prefix { $0 == " " })
        guard let close = all[(open + 1)...].firstIndex(where: { $0 == indent + "```" }) else {
            throw Failure(description: "\(document): the block after \(marker) is not closed")
        }
        var block: [String] = []
        for (i, line) in all[(open + 1)..<close].enumerated() {
            guard line.hasPrefix(indent) || line.isEmpty else {
                throw Failure(description: "\(document): line \(open + 2 + i) of example \(name) is less indented than its fence")
            }
            block.append(String(line.dropFirst(indent.count)))
        }
        return block
    }
}
