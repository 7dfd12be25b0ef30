/// dimr-eval's version: printed by `--version` and `doctor`, recorded in the features files it writes.
public let dimrEvalVersion = "0.1.0"
