import Foundation
import TensorIO
import TestSupport
import XCTest

/// Issue 16, the file layer: image variants decode to the expected pixels, damaged zips are
/// refused (CRC-32, truncation, impossible sizes), folders and odd headers are clear errors,
/// outputs are checked before work, and stale temporaries of killed runs are cleaned up.
final class ImageVariantTests: XCTestCase {
    func expected(_ name: String) throws -> [UInt8] { try readNpy(fixture("variants/\(name).npy")).asUInt8() }

    /// 16-bit samples v → round(v / 257) (numpy's np.round(a / 257); fixtures/io/variants), exact.
    func testSixteenBitPNGsMapToTheNearestEightBitValue() throws {
        for name in ["rgb16.png", "rgba16.png", "gray16.png", "gray_alpha16.png"] {
            let image = try readImage(fixture("variants/" + name))
            XCTAssertEqual([image.width, image.height], [19, 13], name)
            XCTAssertEqual(image.pixels, try expected(name), name)
        }
        // The first pixels hold 0, 128, 129, 65535 in red: 128/257 rounds down, 129/257 up.
        let rgb = try readImage(fixture("variants/rgb16.png"))
        XCTAssertEqual([rgb.pixels[0], rgb.pixels[3], rgb.pixels[6], rgb.pixels[9]], [0, 0, 1, 255])
    }

    /// The same pixels stored as 16-bit (×257) and as 8-bit decode identically, so they give the
    /// same features (before: FID 77 between them, from libpng's linear-light conversion).
    func testSixteenBitCopyOfAnEightBitImageDecodesToTheSamePixels() throws {
        let sixteen = try readImage(fixture("variants/rgb16_exact.png"))
        let eight = try readImage(fixture("images/rgb.png"))
        XCTAssertEqual(sixteen, eight)
    }

    /// Interlaced, gAMA (ignored, as PIL ignores it), 1-bit gray, palette + tRNS: PIL's pixels, exact.
    func testOtherPNGVariantsMatchPIL() throws {
        for name in ["interlaced.png", "gamma.png", "gray1.png", "palette_trns.png"] {
            XCTAssertEqual(try readImage(fixture("variants/" + name)).pixels, try expected(name), name)
        }
    }

    /// EXIF orientation is not applied: stored pixel order, as PIL's Image.open (and so every
    /// reference FID tool) reads it; the file is 19 wide, 13 high, though it displays rotated.
    func testEXIFOrientationIsNotApplied() throws {
        let image = try readImage(fixture("variants/exif_rotated.jpg"))
        XCTAssertEqual([image.width, image.height], [19, 13])
        XCTAssertEqual(image.pixels, try expected("exif_rotated.jpg"))
    }

    func testDamagedAndOversizedPNGsAreRefused() throws {
        let whole = [UInt8](try Data(contentsOf: fixture("images/rgb.png")))
        // A flipped bit in IHDR (bytes 16..<29; its CRC follows): the chunk CRC no longer matches.
        var flipped = whole
        flipped[20] ^= 0x01
        assertFormatError(try decodePNG(flipped, file: "flipped.png"), ["flipped.png", "PNG data", "CRC"])
        // A flipped byte inside the compressed image data: an error, never other pixels.
        var damaged = whole
        damaged[60] ^= 0xFF
        assertFormatError(try decodePNG(damaged, file: "damaged.png"), ["damaged.png", "PNG data"])
        assertFormatError(try decodePNG(whole, file: "big.png", maxPixels: 100), ["big.png", "34x21", "100 pixels"])
        let jpeg = [UInt8](try Data(contentsOf: fixture("images/rgb_q90.jpg")))
        assertFormatError(try decodeJPEG(jpeg, file: "big.jpg", maxPixels: 100), ["big.jpg", "34x21", "100 pixels"])
    }
}

final class DamagedFileTests: XCTestCase {
    /// ZIPFoundation's streaming `extract` computes a member's CRC-32 but does not compare it:
    /// a flipped byte in a storage of a PyTorch zip must be refused by name.
    func testCorruptTorchZipMemberIsRefusedByItsCRC() throws {
        let dir = try temporaryDirectory(self)
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/inception/checkpoint_zip.pt")
        var bytes = [UInt8](try Data(contentsOf: source))
        let good = try TorchCheckpoint(contentsOf: source).tensors()
        XCTAssertFalse(good.isEmpty)
        // Flip a byte of the first storage member's data (its local header is 30 bytes + name + extra).
        guard let member = try ZipFixture.firstMember(bytes, named: "/data/0") else { return XCTFail("no data/0 member") }
        bytes[member.dataOffset] ^= 0x01
        let corrupt = dir.appendingPathComponent("corrupt.pt")
        try Data(bytes).write(to: corrupt)
        assertFormatError(try TorchCheckpoint(contentsOf: corrupt).tensors(), ["corrupt.pt", "data/0", "crc32", "corrupt data"])
    }

    /// A truncated zip is refused at once (ZIPFoundation's own search for the directory reads the
    /// file backwards one byte at a time: 11 s for a 40 MB cut of the weights).
    func testTruncatedZipIsRefusedQuickly() throws {
        let dir = try temporaryDirectory(self)
        var bytes = [UInt8](repeating: 0x41, count: 8 << 20)
        bytes.replaceSubrange(0..<4, with: [0x50, 0x4B, 0x03, 0x04])
        let cut = dir.appendingPathComponent("cut.pt")
        try Data(bytes).write(to: cut)
        let start = Date()
        assertFormatError(try TorchCheckpoint(contentsOf: cut), ["cut.pt", "zip container", "truncated", "8388608 bytes"])
        assertFormatError(try NpzFile(contentsOf: cut), ["cut.pt", "zip container", "truncated"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 2, "refused from the file's tail, not by a byte-wise scan")
    }

    /// Found by fuzzing (fixtures/fuzz/regressions/torch/): a zip64 end record whose directory
    /// offset is 2^63 or more trapped inside ZIPFoundation (an unchecked conversion to off_t).
    func testZip64OffsetsBeyondTheFileAreRefused() throws {
        let input = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/fuzz/regressions/torch/zip64_offset_beyond_off_t.pt")
        assertFormatError(try TorchCheckpoint(contentsOf: input), ["zip64_offset_beyond_off_t.pt", "zip container", "corrupt zip directory",
                                                                   "zip64 directory offset"])
        assertFormatError(try NpzFile(contentsOf: input), ["corrupt zip directory"])
    }

    /// Found by fuzzing (fixtures/fuzz/regressions/stats/): a stored member declaring 4 GB in a
    /// file of 956 bytes was read in empty 4 kB pieces up to that size before its header was
    /// found incomplete (3 s, 13 s under the fuzzer). Its sizes are checked first now.
    func testStoredMemberLargerThanTheFileIsRefusedAtOnce() throws {
        let input = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures/fuzz/regressions/stats/stored_member_size_beyond_file.npz")
        let npz = try NpzFile(contentsOf: input)
        let start = Date()
        assertFormatError(try npz.header("mu"), ["stored_member_size_beyond_file.npz", "zip member mu.npy size",
                                                 "within the file's 956 bytes", "corrupt zip directory"])
        assertFormatError(try npz.array("mu"), ["zip member mu.npy size"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.5)
    }

    /// A zip directory claiming a member far larger than deflate can expand its bytes is refused
    /// before anything is allocated for it.
    func testImpossibleMemberSizeIsRefused() throws {
        let dir = try temporaryDirectory(self)
        var bytes = [UInt8](try Data(contentsOf: fixture("npz/adm_stored.npz")))
        guard let member = try ZipFixture.firstMember(bytes, named: "arr_0.npy") else { return XCTFail("no arr_0.npy") }
        // Uncompressed size in the central directory entry (offset 24 of it): 0x7FFFFFFF bytes.
        let central = member.centralOffset + 24
        bytes.replaceSubrange(central..<(central + 4), with: [0xFF, 0xFF, 0xFF, 0x7F])
        let url = dir.appendingPathComponent("huge.npz")
        try Data(bytes).write(to: url)
        assertFormatError(try NpzFile(contentsOf: url).array("arr_0"), ["huge.npz", "arr_0.npy size", "corrupt zip directory"])
    }

    func testFoldersWhereFilesAreExpectedAreClearErrors() throws {
        let dir = try temporaryDirectory(self)
        assertFormatError(try TorchCheckpoint(contentsOf: dir), [dir.path, "a folder"])
        assertFormatError(try readNpy(dir), [dir.path, "a folder"])
        assertFormatError(try readSafetensors(dir), [dir.path, "a folder"])
    }

    /// A version-1.0 header whose declared length is 0 (10 bytes in all) is a clear error, not a
    /// negative read length.
    func testNpyHeaderShorterThanItsPreamble() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("short.npy")
        try Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0, 0, 0x7B, 0x7D]).write(to: url)
        assertFormatError(try readNpy(url), ["short.npy", "npy header dict"])
    }
}

/// Found by fuzzing (fixtures/fuzz/regressions/pickle/): a pickle could make a list contain
/// itself (DUP, APPEND), a reference cycle that leaked on every load. Refused now.
final class PickleCycleTests: XCTestCase {
    func testSelfContainingContainersAreRefused() throws {
        let list: [UInt8] = [0x80, 0x02, 0x5D, 0x32, 0x61, 0x2E]                       // [] DUP APPEND STOP
        assertFormatError(try Unpickler.load(list, file: "cycle.pkl"), ["cycle.pkl", "pickle opcode 0x61", "contain itself"])
        let viaMemo: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00, 0x4B, 0x01, 0x5D, 0x68, 0x00, 0x61, 0x73, 0x2E]  // d = {}; d[1] = [d]
        assertFormatError(try Unpickler.load(viaMemo, file: "memo.pkl"), ["memo.pkl", "pickle opcode 0x73", "contain itself"])
        // Through an object's callable: o1 = L2(); o2 = o1(); o1.append(o2) (found by fuzzing too).
        let viaCallable: [UInt8] = [0x80, 0x02, 0x5D, 0x5D, 0x52, 0x32, 0x5D, 0x52, 0x61, 0x2E]
        assertFormatError(try Unpickler.load(viaCallable, file: "callable.pkl"), ["callable.pkl", "pickle opcode 0x61", "contain itself"])
        // Shared (not cyclic) references stay fine: [x, x] with x = [].
        let shared: [UInt8] = [0x80, 0x02, 0x5D, 0x5D, 0x71, 0x00, 0x61, 0x68, 0x00, 0x61, 0x2E]
        guard case .list(let l) = try Unpickler.load(shared, file: "shared.pkl") else { return XCTFail("not a list") }
        XCTAssertEqual(l.items.count, 2)
    }
}

final class OutputPathTests: XCTestCase {
    func testOutputChecksBeforeWork() throws {
        let dir = try temporaryDirectory(self)
        let input = dir.appendingPathComponent("x.npz")
        try Data([1, 2, 3]).write(to: input)
        assertFormatError(try OutputPath.check(input, inputs: [input]), ["x.npz", "output (-o)", "the input itself"])
        // Another spelling of the same file, and a hard link to it.
        let spelled = URL(fileURLWithPath: dir.path + "/./x.npz")
        assertFormatError(try OutputPath.check(spelled, inputs: [input]), ["the input itself"])
        let link = dir.appendingPathComponent("link.npz")
        XCTAssertEqual(Foundation.link(input.path, link.path), 0)
        assertFormatError(try OutputPath.check(link, inputs: [input]), ["the input itself"])
        assertFormatError(try OutputPath.check(dir.appendingPathComponent("missing/out.npz")),
                          ["out.npz", "output (-o)", "an existing folder", "missing"])
        assertFormatError(try OutputPath.check(dir, option: "--save-json"), ["output (--save-json)", "a folder"])
        XCTAssertNoThrow(try OutputPath.check(dir.appendingPathComponent("fresh.npz"), inputs: [input]))
    }

    /// Temporaries of a process that is gone are removed; those of a live process, of another
    /// machine, and files that merely look similar are kept.
    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = try temporaryDirectory(self)
        let dead = deadProcessID()
        let host = StaleTemporaries.path(beside: dir.appendingPathComponent("x")).lastPathComponent
            .components(separatedBy: "-").dropFirst(3).joined(separator: "-")
        let stale = [".out.npz.tmp-\(dead)-123-\(host)", ".out.npz.spatial.tmp-\(dead)-9-\(host)",
                     ".step-00000500.safetensors.tmp-\(dead)-77"]   // the last: named before hosts were recorded
        let kept = [".out.npz.tmp-\(getpid())-5-\(host)",             // this (live) process
                    ".out.npz.tmp-\(dead)-5-another-machine",          // written elsewhere on a shared folder
                    "out.npz.tmp-\(dead)-5", ".notes.tmp-x-y", "data.npz"]
        for name in stale + kept { try Data([0]).write(to: dir.appendingPathComponent(name)) }
        // An old-style spool file (no process id) counts as stale once an hour old.
        let oldSpool = dir.appendingPathComponent(".out.npz.spatial.0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0.part")
        try Data([0]).write(to: oldSpool)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)], ofItemAtPath: oldSpool.path)
        let freshSpool = dir.appendingPathComponent(".out.npz.spatial.1F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0.part")
        try Data([0]).write(to: freshSpool)

        let removed = Set(StaleTemporaries.remove(in: dir).map(\.lastPathComponent))
        XCTAssertEqual(removed, Set(stale + [oldSpool.lastPathComponent]))
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
        XCTAssertEqual(left, Set(kept + [freshSpool.lastPathComponent]))
    }

    /// The writers name their temporaries so that the clean-up recognises them.
    func testWritersUseTheRecognisedNames() throws {
        let dir = try temporaryDirectory(self)
        let writer = try AtomicFileWriter(dir.appendingPathComponent("a.npz"))
        XCTAssertTrue(writer.temporaryURL.lastPathComponent.hasPrefix(".a.npz.tmp-\(getpid())-"), writer.temporaryURL.lastPathComponent)
        XCTAssertEqual(StaleTemporaries.remove(in: dir), [], "a live writer's file stays")
        writer.abort()
    }

    /// A process id that is not running (a child that has exited and been reaped).
    func deadProcessID() -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try? process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}

/// Finds a member in a zip's bytes by name (local header and central directory entry offsets).
enum ZipFixture {
    struct Member { var dataOffset: Int; var centralOffset: Int }

    static func firstMember(_ bytes: [UInt8], named suffix: String) throws -> Member? {
        func u16(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 }
        func u32(_ i: Int) -> Int { u16(i) | u16(i + 2) << 16 }
        var i = 0
        while i + 46 <= bytes.count {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x01, bytes[i + 3] == 0x02 {
                let nameLength = u16(i + 28)
                let name = String(decoding: bytes[(i + 46)..<(i + 46 + nameLength)], as: UTF8.self)
                if name.hasSuffix(suffix) {
                    let local = u32(i + 42)
                    let dataOffset = local + 30 + u16(local + 26) + u16(local + 28)
                    return Member(dataOffset: dataOffset, centralOffset: i)
                }
            }
            i += 1
        }
        return nil
    }
}
