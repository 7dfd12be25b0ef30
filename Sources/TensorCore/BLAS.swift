import CBLAS

/// The BLAS/LAPACK backend (OpenBLAS through `native_blas.c`), with the core type chosen for this CPU.
public enum BLAS {
    public struct Info: Sendable, Codable {
        public var loaded: Bool
        public var error: String?
        public var core: String          // OpenBLAS's name for the kernels in use
        public var requestedCore: String? // what dimr-eval asked for, nil when the user's env decided
        public var coreFromUser: Bool
        public var threads: Int
        public var config: String
    }

    /// Loads OpenBLAS if needed; throws a readable error when the library is missing.
    public static func ensureLoaded() throws {
        if nb_load() != 0 { throw NativeLibraryError(message: String(cString: nb_error())) }
    }

    public static var info: Info {
        guard nb_load() == 0 else {
            return Info(loaded: false, error: String(cString: nb_error()), core: "", requestedCore: nil,
                        coreFromUser: false, threads: 0, config: "")
        }
        let requested = String(cString: nb_requested_core())
        return Info(loaded: true, error: nil, core: String(cString: nb_corename()),
                    requestedCore: requested.isEmpty ? nil : requested, coreFromUser: nb_core_from_user() != 0,
                    threads: Int(nb_num_threads()), config: String(cString: nb_config()))
    }

    public static var threads: Int {
        get { Int(nb_num_threads()) }
        set { nb_set_num_threads(Int32(newValue)) }
    }

    /// C = alpha·op(A)·op(B) + beta·C, row-major. op(A) is M×K, op(B) is K×N, C is M×N.
    @inlinable
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        nb_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                 Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Double-precision GEMM, row-major, same conventions as `sgemm`.
    @inlinable
    public static func dgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
                             b: UnsafePointer<Double>, ldb: Int,
                             beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int) {
        nb_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                 Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C (n×n, upper and lower filled) = alpha·AᵀA + beta·C for row-major A (k×n), in double.
    public static func dsyrkTransposed(n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
                                       beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        nb_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, a, Int32(lda), beta, c, Int32(ldc))
        for i in 0..<n { for j in 0..<i { c[i * ldc + j] = c[j * ldc + i] } }
    }

    /// Eigen-decomposition of a symmetric n×n row-major matrix (LAPACKE_dsyevd).
    /// On return `a` holds the eigenvectors as columns (row-major), `w` the eigenvalues ascending.
    public static func symmetricEigen(n: Int, a: UnsafeMutablePointer<Double>, w: UnsafeMutablePointer<Double>,
                                      vectors: Bool = true) throws {
        let info = nb_dsyevd(Int32(LAPACK_ROW_MAJOR), vectors ? 86 /* V */ : 78 /* N */, 85 /* U */,
                             Int32(n), a, Int32(n), w)
        if info != 0 { throw NativeLibraryError(message: "LAPACKE_dsyevd failed (info \(info)) on a \(n)x\(n) matrix") }
    }

    /// Whether a symmetric n×n row-major matrix (upper triangle read) is numerically positive
    /// definite: its Cholesky factorisation (LAPACKE_dpotrf) succeeds. `a` is overwritten.
    public static func choleskySucceeds(n: Int, a: UnsafeMutablePointer<Double>) throws -> Bool {
        let info = nb_dpotrf(Int32(LAPACK_ROW_MAJOR), 85 /* U */, Int32(n), a, Int32(n))
        if info < 0 { throw NativeLibraryError(message: "LAPACKE_dpotrf: argument \(-info) invalid on a \(n)x\(n) matrix") }
        return info == 0
    }
}

public struct NativeLibraryError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
