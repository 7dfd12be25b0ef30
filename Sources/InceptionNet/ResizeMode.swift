/// How images of another size are brought to Inception's 299×299 input. Each mode reproduces one
/// established tool, because FID numbers move by more than the differences between tools.
public enum ResizeMode: String, CaseIterable, Sendable, Codable {
    /// The ADM evaluator (guided-diffusion's TensorFlow graph): TF-1 legacy bilinear,
    /// source = dest·in/out without the half-pixel offset, upper neighbour clamped. The default,
    /// since the DiMR, DiT and U-ViT papers report numbers from that evaluator.
    case adm
    /// clean-fid: PIL bicubic (with antialiasing) on float values, one channel at a time.
    case clean
    /// pytorch-fid: torch's `F.interpolate(mode="bilinear", align_corners=False)`, half-pixel centres.
    case pytorch
}
