import Foundation
import TensorIO
import XCTest

/// fixtures/io/<path>, made by scripts/fixtures/io_make_fixtures.py (see fixtures/io/COMMANDS.md).
func fixture(_ path: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/io").appendingPathComponent(path)
}

func fixtureJSON(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: fixture(path))) as! [String: Any]
}

/// Asserts that `body` throws a FormatError whose text contains every one of `fragments`
/// (the field, and a word of what was found), and returns it.
@discardableResult
func assertFormatError<T>(_ body: @autoclosure () throws -> T, _ fragments: [String],
                          file: StaticString = #filePath, line: UInt = #line) -> FormatError? {
    do {
        _ = try body()
        XCTFail("expected a FormatError containing \(fragments), got success", file: file, line: line)
    } catch let error as FormatError {
        for fragment in fragments where !error.description.contains(fragment) {
            XCTFail("error «\(error)» does not mention «\(fragment)»", file: file, line: line)
        }
        return error
    } catch {
        XCTFail("expected a FormatError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}
