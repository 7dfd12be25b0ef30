import Foundation

/// A one-line progress display for long work: count, rate and ETA, redrawn on stderr at most a
/// few times a second — only when stderr is a terminal, so logs and pipes stay clean.
/// Thread-safe: `advance` may be called from parallel workers.
public final class Progress: @unchecked Sendable {
    public let total: Int
    public let label: String
    public let unit: String
    public let enabled: Bool
    public private(set) var count = 0
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var finished = false
    private let lock = NSLock()

    /// `enabled` defaults to "stderr is a TTY"; pass false to silence it, true to force it (tests).
    public init(total: Int, label: String, unit: String = "img", enabled: Bool? = nil) {
        self.total = total
        self.label = label
        self.unit = unit
        self.enabled = enabled ?? (isatty(2) != 0)
    }

    public func advance(by n: Int = 1) {
        lock.lock(); defer { lock.unlock() }
        count += n
        guard enabled, !finished else { return }
        let now = Date()
        if now.timeIntervalSince(lastDraw) >= 0.2 || count >= total {
            lastDraw = now
            draw(now: now, final: false)
        }
    }

    /// Draws the final line and moves to a new line.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        if enabled { draw(now: Date(), final: true) }
    }

    /// The text of the current line (also what a terminal shows).
    public func line(now: Date = Date(), final: Bool = false) -> String {
        let elapsed = max(now.timeIntervalSince(start), 1e-9)
        let rate = Double(count) / elapsed
        var text = "\(label) \(count)/\(total) \(unit)  \(String(format: "%.1f", rate)) \(unit)/s"
        if final {
            text += "  done in \(Progress.duration(elapsed))"
        } else if rate > 0 && total > count {
            text += "  ETA \(Progress.duration(Double(total - count) / rate))"
        }
        return text
    }

    private func draw(now: Date, final: Bool) {
        let text = "\r\u{1B}[K" + line(now: now, final: final) + (final ? "\n" : "")
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return String(format: "%.1fs", seconds)
    }
}
