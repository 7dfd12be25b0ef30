import Foundation
import TensorIO

/// DIR/train_log.jsonl: every logged step, appended. A resumed run continues the same file
/// exactly: the lines a killed run logged after its last checkpoint (steps > `step`, which the
/// resumed run trains again) and a half-written last line are dropped first; a new run starts
/// an empty file.
final class StepLogFile {
    private let handle: FileHandle
    init(_ url: URL, continuingAfter step: Int) throws {
        let old = FileManager.default.contents(atPath: url.path) ?? Data()
        let kept = old.split(separator: 0x0A).filter { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                  let logged = object["step"] as? Int else { return false }
            return logged <= step   // nothing is kept for a new run (step 0)
        }
        var text = Data(kept.joined(separator: [0x0A]))
        if !text.isEmpty { text.append(0x0A) }
        if text != old || !FileManager.default.fileExists(atPath: url.path) { try writeAtomically(text, to: url) }
        guard let handle = FileHandle(forWritingAtPath: url.path) else {
            throw FormatError(url, field: "step log", expected: "a file this run can append to", found: "it cannot be opened for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }
    func append(_ line: String) { handle.write(Data((line + "\n").utf8)) }
    deinit { try? handle.close() }
}
