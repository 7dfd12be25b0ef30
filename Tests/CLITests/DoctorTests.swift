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

    func testUserCoreTypeWins() throws {
        // Sandybridge kernels need only AVX, which every x86-64 CPU this tool targets has.
        let report = try CLI.json(["doctor", "--json"], environment: ["OPENBLAS_CORETYPE": "Sandybridge"])
        let blas = try XCTUnwrap(report["blas"] as? [String: Any])
        XCTAssertEqual((blas["core"] as? String)?.lowercased(), "sandybridge")
        XCTAssertEqual(blas["coreFromUser"] as? Bool, true)
    }
}
