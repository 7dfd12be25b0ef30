import Foundation
import XCTest

/// Runs the built `dimr-eval` binary (it sits beside the test bundle) as a user would.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static var binary: URL {
        // On Linux the test runner is `<build>/<config>/dimr-evalPackageTests.xctest`, beside the tool.
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return runner.deletingLastPathComponent().appendingPathComponent("dimr-eval")
    }

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting, so a chatty child never blocks on a full pipe.
        final class Sink: @unchecked Sendable { var data = Data() }
        let group = DispatchGroup()
        let outSink = Sink(), errSink = Sink()
        group.enter(); DispatchQueue.global().async { outSink.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { errSink.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.wait()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: String(decoding: outSink.data, as: UTF8.self),
                         stderr: String(decoding: errSink.data, as: UTF8.self))
    }

    static func json(_ arguments: [String], environment: [String: String] = [:]) throws -> [String: Any] {
        let result = try run(arguments, environment: environment)
        XCTAssertEqual(result.status, 0, "dimr-eval \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        guard let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw NSError(domain: "CLI", code: 1, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \(result.stdout)"])
        }
        return object
    }
}
