// Distortion module
