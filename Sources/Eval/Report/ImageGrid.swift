import Distortion
import TensorIO

/// `images` tiled row by row, ⌈√N⌉ to a row so a sheet of samples comes out about square: the
/// report's figures, `sample --grid`, `shapes --grid` and the most distorted samples (`--worst-grid`) draw
/// the same layout.
public func squareImageGrid(_ images: [RGBImage]) -> RGBImage {
    makeImageGrid(images, columns: Int(Double(images.count).squareRoot().rounded(.up)))
}
