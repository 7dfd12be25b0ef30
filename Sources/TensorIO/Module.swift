// TensorIO module
