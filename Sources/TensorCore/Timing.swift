import Dispatch

/// Seconds `body` takes, on the monotonic clock (a clock change mid-run cannot make it negative).
public func secondsElapsed(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The seconds of each of `repeats` timed runs of `body` (at least one), after `warmup` untimed
/// runs (the first runs pay for page faults, thread start-up and caches).
public func runSeconds(repeats: Int, warmup: Int = 0, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmup { try body() }
    return try (0..<max(repeats, 1)).map { _ in try secondsElapsed(body) }
}

/// The fastest of `runSeconds`: on a shared machine one run can be slowed by a neighbour, never sped up.
public func bestSeconds(repeats: Int, warmup: Int = 0, _ body: () throws -> Void) rethrows -> Double {
    try runSeconds(repeats: repeats, warmup: warmup, body).min()!
}
