//! 8-bit GEMM (in progress).
