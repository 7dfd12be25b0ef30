import ArgumentParser
import Eval
import Foundation
import TensorIO

/// `dimr-eval cache list|clear`: the feature cache (`$DIMR_EVAL_CACHE/features`).
struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List or clear the feature cache.",
        discussion: """
        `eval`, `fid`, `stats`, `features` and `train`'s checkpoint scorer keep the Inception features of \
        every image input in $DIMR_EVAL_CACHE/features (default ~/.cache/dimr-eval/features), keyed by \
        the SHA-1 of the images' bytes, the weights' SHA-1, the resize mode and the preprocessing version, \
        so the same images are never run through the network twice. The least recently used entries \
        go when the folder grows past $DIMR_EVAL_CACHE_MAX (4G by default). --no-cache skips it.
        """,
        subcommands: [List.self, Clear.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries, most recently used first, and the total size.")
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable {
            var root: String
            var maxBytes: Int64
            var totalBytes: Int64
            var entries: [FeatureCache.Entry]
            enum CodingKeys: String, CodingKey { case root, maxBytes = "max_bytes", totalBytes = "total_bytes", entries }
        }

        func run() throws {
            let cache = try FeatureCache()
            let entries = cache.entries()
            let output = Output(root: cache.root.path, maxBytes: cache.maxBytes, totalBytes: entries.reduce(0) { $0 + $1.bytes },
                                entries: entries)
            if json { print(try jsonText(output, style: .document)); return }
            print("feature cache \(output.root): \(entries.count) entries, \(megabytes(output.totalBytes)) of \(megabytes(output.maxBytes))")
            let format = ISO8601DateFormatter()
            for e in entries {
                print("  \(URL(fileURLWithPath: e.file).lastPathComponent.prefix(16))…  \(megabytes(e.bytes))  \(e.images.map { "\($0) images" } ?? "?")"
                      + "  --resize \(e.resize ?? "?")  used \(format.string(from: e.lastUsed))  \(e.source ?? "")")
            }
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove every entry.")
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable { var root: String; var removed: Int; var bytes: Int64 }

        func run() throws {
            let cache = try FeatureCache()
            let (removed, bytes) = cache.clear()
            let output = Output(root: cache.root.path, removed: removed, bytes: bytes)
            if json { print(try jsonText(output, style: .document)); return }
            print("removed \(removed) files (\(megabytes(bytes))) from \(output.root)")
        }
    }
}

private func megabytes(_ bytes: Int64) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }
