import TestSupport
import XCTest

/// `doctor` reports the BLAS core really in use; dimr-eval's own choice must not override the user's.
final class DoctorTests: XCTestCase {
    func testDoctorReportsLoadedBLASCore() throws {
        let report = try CLI.json(["doctor", "--json"], environment: ["OPENBLAS_CORETYPE": ""])
        let blas = try XCTUnwrap(report["blas"] as? [String: Any])
        XCTAssertEqual(blas["loaded"] as? Bool, true)
        let core = try XCTUnwrap(blas["core"] as? String)
        XCTAssertFalse(core.isEmpty)
        XCTAssertNotEqual(core.lowercased(), "prescott", "fell back to generic kernels")
        if let requested = blas["requestedCore"] as? String {
            XCTAssertEqual(core.lowercased(), requested.lowercased())
        }
        XCTAssertGreaterThanOrEqual(blas["threads"] as? Int ?? 0, 1)
    }

    /// The feature cache's folder follows DIMR_EVAL_CACHE, like the weights cache.
    func testDoctorNamesTheFeatureCache() throws {
        let root = try temporaryDirectory(self)
        let report = try CLI.json(["doctor", "--json"], environment: ["DIMR_EVAL_CACHE": root.path])
        XCTAssertEqual(report["cacheDirectory"] as? String, root.path)
        XCTAssertEqual(report["featureCache"] as? String, root.appendingPathComponent("features").path)
        let text = try CLI.run(["doctor"], environment: ["DIMR_EVAL_CACHE": root.path])
        XCTAssertTrue(text.stdout.contains("features     \(root.path)/features"), text.stdout)
    }

    func testUserCoreTypeWins() throws {
        // Sandybridge kernels need only AVX, which every x86-64 CPU this tool targets has.
        let report = try CLI.json(["doctor", "--json"], environment: ["OPENBLAS_CORETYPE": "Sandybridge"])
        let blas = try XCTUnwrap(report["blas"] as? [String: Any])
        XCTAssertEqual((blas["core"] as? String)?.lowercased(), "sandybridge")
        XCTAssertEqual(blas["coreFromUser"] as? Bool, true)
    }
}
