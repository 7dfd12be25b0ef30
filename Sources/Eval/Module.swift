// Eval module
