import XCTest

// PLACEHOLDER — delete once real tests exist in this target.
final class DiMRTrainerPlaceholderTests: XCTestCase {}
