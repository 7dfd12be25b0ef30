// swift-tools-version:6.0
// dimr-eval: layers, bottom to top (imports point down only):
//   C wrappers (CBLAS, CJPEG, CPNG, CFFTW) and C kernels (CKernels) → TensorCore → TensorIO
//   → InceptionNet, Distortion → Eval (metrics, inputs, report) ─┐
//   → DiMRTrainer (models, training, sampling) ──────────────────┴→ Pipeline (train + score, sample, demo) → dimr-eval (executable)
import PackageDescription

let package = Package(
    name: "dimr-eval",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dimr-eval", targets: ["dimr-eval"]),
        .library(name: "Eval", targets: ["Eval"]),
    ],
    dependencies: [
        // Exact versions (what CI builds), so a fresh clone builds the same code. Package.resolved
        // stays out of git: with one tracked, a fresh clone does not build on the CI machine.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
    ],
    targets: [
        // OpenBLAS + LAPACKE, loaded with dlopen after the core type is chosen (see native_blas.c).
        .target(name: "CBLAS", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),  // libjpeg-dev
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16")]),  // libpng-dev
        .systemLibrary(name: "CFFTW", providers: [.apt(["libfftw3-dev"])]),

        // GELU forward/backward built for AVX2 + FMA beside the baseline, picked at run time (see its header).
        .target(name: "CKernels"),
        .target(name: "TensorCore", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "TensorIO", dependencies: [
            "TensorCore", "CJPEG", "CPNG", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),

        .target(name: "InceptionNet", dependencies: ["TensorCore", "TensorIO"]),
        .target(name: "DiMRTrainer", dependencies: ["TensorCore", "TensorIO", "CKernels"]),  // CKernels: the AdamW step
        .target(name: "Distortion", dependencies: ["TensorCore", "TensorIO", "CFFTW", "InceptionNet"],),
        .target(name: "Eval", dependencies: ["TensorCore", "TensorIO", "InceptionNet", "Distortion"]),
        // What needs both a model and the metrics: a training run scored at its checkpoints,
        // sampling a checkpoint into files, and the demo's whole pipeline.
        .target(name: "Pipeline", dependencies: ["DiMRTrainer", "Eval", "Distortion", "TensorIO"]),

        .executableTarget(name: "dimr-eval", dependencies: [
            "Pipeline", "Eval", "TensorCore", "TensorIO", "InceptionNet", "DiMRTrainer", "Distortion",
            "CJPEG", "CPNG", "CFFTW",  // only to report their versions in `doctor`
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Fuzz targets for the file parsers: libFuzzer entry point when built by scripts/fuzz.sh,
        // a replayer of saved inputs otherwise (the CLI tests run it on the crash regressions).
        .executableTarget(name: "dimr-eval-fuzz", dependencies: ["TensorIO", "Eval"]),

        // What several test targets share (a per-test temporary folder, both builds of the C kernels); built only by `swift test`.
        .target(name: "TestSupport", dependencies: ["CKernels"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "TensorIOTests", dependencies: ["TensorIO", "TestSupport"]),
        .testTarget(name: "InceptionNetTests", dependencies: ["InceptionNet", "TensorIO", "TestSupport"]),
        .testTarget(name: "EvalTests", dependencies: ["Eval", "DiMRTrainer", "TestSupport"]),  // DiMRTrainer: its embedded shapes for the training scorer
        .testTarget(name: "DiMRTrainerTests", dependencies: ["DiMRTrainer", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "TestSupport"]),
        .testTarget(name: "DistortionTests", dependencies: ["Distortion", "DiMRTrainer", "TestSupport"]),  // DiMRTrainer: its embedded shapes as a reference
        .testTarget(name: "CLITests", dependencies: ["dimr-eval", "dimr-eval-fuzz", "TensorIO", "TestSupport"]),  // TensorIO: reading what the commands write
    ],
    // Swift 5 language mode: the numeric kernels share raw buffers across threads by design
    // (see Parallel.swift); strict-concurrency checking would only add wrappers around them.
    swiftLanguageModes: [.v5]
)
