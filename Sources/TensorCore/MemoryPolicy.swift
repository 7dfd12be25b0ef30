import Foundation

/// Keeps freed tensor memory in the process for the next allocation instead of returning it to
/// the kernel.
///
/// Why: glibc serves blocks above its mmap threshold (at most 32 MB) with a fresh mmap and unmaps
/// them on free, so every batch's activations (10–90 MB each in the Inception network) were
/// page-faulted in and zero-filled anew: 3–4% of `bench inception`. With the threshold at 1 GB the
/// blocks come from the heap and are reused; peak RSS stays what the largest batch needs.
/// Call once at program start (the executable does); it changes a process-wide malloc setting.
/// (`mallopt` is looked up at run time: Swift's Glibc module does not export malloc.h.)
public func keepFreedTensorMemory() {
    #if os(Linux)
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return }   // RTLD_DEFAULT: the C library already loaded
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD in malloc.h
    _ = mallopt(mmapThreshold, 1 << 30)
    _ = mallopt(trimThreshold, Int32.max)
    #endif
}
