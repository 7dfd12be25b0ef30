import CKernels

/// Runs `body` once per build of the C kernels this CPU can run: the AVX2 + FMA one (when the CPU
/// has both) and the baseline one, forced with `vk_force_baseline`. `body` gets a label for
/// assertion messages ("avx2" or "baseline"). The choice is restored afterwards.
public func forEachKernelBuild(_ body: (_ label: String) throws -> Void) rethrows {
    let builds: [Int32] = vk_uses_avx2() == 1 ? [0, 1] : [1]
    for baseline in builds {
        vk_force_baseline(baseline)
        defer { vk_force_baseline(0) }
        try body(baseline == 1 ? "baseline" : "avx2")
    }
}
