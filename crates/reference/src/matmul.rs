//! Batched matrix multiplication with optional transposed operands.
//!
//! `C[b] = op(A[b]) · op(B[b])` where `op` is identity or transpose:
//! A is stored `[batch, m, k]` (or `[batch, k, m]` when `trans_a`), B is
//! stored `[batch, k, n]` (or `[batch, n, k]` when `trans_b`), and C is
//! `[batch, m, n]`.

/// Shapes and transpose flags of a batched matmul.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulParams {
    /// Number of independent matrix products.
    pub batch: usize,
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// Inner (contracted) dimension.
    pub k: usize,
    /// A is stored `[batch, k, m]` instead of `[batch, m, k]`.
    pub trans_a: bool,
    /// B is stored `[batch, n, k]` instead of `[batch, k, n]`.
    pub trans_b: bool,
}

impl MatmulParams {
    /// Flat index into A's storage of logical element `A[b][i][p]` (i < m, p < k).
    pub fn a_index(&self, b: usize, i: usize, p: usize) -> usize {
        let base = b * self.m * self.k;
        if self.trans_a {
            base + p * self.m + i
        } else {
            base + i * self.k + p
        }
    }

    /// Flat index into B's storage of logical element `B[b][p][j]` (p < k, j < n).
    pub fn b_index(&self, b: usize, p: usize, j: usize) -> usize {
        let base = b * self.k * self.n;
        if self.trans_b {
            base + j * self.k + p
        } else {
            base + p * self.n + j
        }
    }

    fn check(&self, a: &[f64], b: &[f64]) {
        assert_eq!(
            a.len(),
            self.batch * self.m * self.k,
            "matmul: A length for {self:?}"
        );
        assert_eq!(
            b.len(),
            self.batch * self.k * self.n,
            "matmul: B length for {self:?}"
        );
    }
}

/// Forward: `C[b,i,j] = sum_p A[b,i,p] * B[b,p,j]` (logical, after transposes).
///
/// Returns C as `[batch, m, n]`.
pub fn matmul(a: &[f64], b: &[f64], p: &MatmulParams) -> Vec<f64> {
    p.check(a, b);
    let mut c = vec![0.0; p.batch * p.m * p.n];
    for bt in 0..p.batch {
        for i in 0..p.m {
            for j in 0..p.n {
                let mut acc = 0.0;
                for q in 0..p.k {
                    acc += a[p.a_index(bt, i, q)] * b[p.b_index(bt, q, j)];
                }
                c[(bt * p.m + i) * p.n + j] = acc;
            }
        }
    }
    c
}

/// Backward: `dA = dC · Bᵀ`, `dB = Aᵀ · dC` (logical), each returned in the
/// same storage layout as the corresponding input (so `da` is `[batch, k, m]`
/// when `trans_a`, and `db` is `[batch, n, k]` when `trans_b`).
pub fn matmul_backward(a: &[f64], b: &[f64], dc: &[f64], p: &MatmulParams) -> (Vec<f64>, Vec<f64>) {
    p.check(a, b);
    assert_eq!(dc.len(), p.batch * p.m * p.n, "matmul_backward: dC length");
    let mut da = vec![0.0; a.len()];
    let mut db = vec![0.0; b.len()];
    for bt in 0..p.batch {
        for i in 0..p.m {
            for j in 0..p.n {
                let g = dc[(bt * p.m + i) * p.n + j];
                for q in 0..p.k {
                    da[p.a_index(bt, i, q)] += g * b[p.b_index(bt, q, j)];
                    db[p.b_index(bt, q, j)] += g * a[p.a_index(bt, i, q)];
                }
            }
        }
    }
    (da, db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_vjp;
    use crate::rng::Rng;

    fn params(batch: usize, m: usize, n: usize, k: usize, ta: bool, tb: bool) -> MatmulParams {
        MatmulParams {
            batch,
            m,
            n,
            k,
            trans_a: ta,
            trans_b: tb,
        }
    }

    #[test]
    fn golden_2x2_transposes() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        // [[1,2],[3,4]] · [[5,6],[7,8]] = [[19,22],[43,50]]
        assert_eq!(
            matmul(&a, &b, &params(1, 2, 2, 2, false, false)),
            vec![19.0, 22.0, 43.0, 50.0]
        );
        // Aᵀ·B = [[1,3],[2,4]] · [[5,6],[7,8]] = [[26,30],[38,44]]
        assert_eq!(
            matmul(&a, &b, &params(1, 2, 2, 2, true, false)),
            vec![26.0, 30.0, 38.0, 44.0]
        );
        // A·Bᵀ = [[1,2],[3,4]] · [[5,7],[6,8]] = [[17,23],[39,53]]
        assert_eq!(
            matmul(&a, &b, &params(1, 2, 2, 2, false, true)),
            vec![17.0, 23.0, 39.0, 53.0]
        );
        // Aᵀ·Bᵀ = [[1,3],[2,4]] · [[5,7],[6,8]] = [[23,31],[34,46]]
        assert_eq!(
            matmul(&a, &b, &params(1, 2, 2, 2, true, true)),
            vec![23.0, 31.0, 34.0, 46.0]
        );
    }

    #[test]
    fn golden_nonsquare_batched() {
        // batch 2, m=1, k=2, n=3. A[0] = [1, 2], A[1] = [3, 4];
        // B[0] = [[1,0,2],[0,1,3]], B[1] = [[1,1,1],[2,2,2]]
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [1.0, 0.0, 2.0, 0.0, 1.0, 3.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        // C[0] = [1, 2, 2+6=8], C[1] = [3+8, 11, 11]
        assert_eq!(
            matmul(&a, &b, &params(2, 1, 3, 2, false, false)),
            vec![1.0, 2.0, 8.0, 11.0, 11.0, 11.0]
        );
    }

    #[test]
    fn gradcheck_all_transposes() {
        let mut rng = Rng::new(30);
        let shapes = [(1, 1, 1, 1), (3, 5, 7, 3), (2, 1, 13, 5), (1, 7, 1, 13)];
        let mut seed = 0;
        for &(batch, m, n, k) in &shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let p = params(batch, m, n, k, ta, tb);
                    let a = rng.vec_normal(batch * m * k);
                    let b = rng.vec_normal(batch * k * n);
                    seed += 1;
                    check_vjp(
                        |a| matmul(a, &b, &p),
                        |dc| matmul_backward(&a, &b, dc, &p).0,
                        &a,
                        seed,
                    )
                    .unwrap_or_else(|e| panic!("dA {p:?}: {e}"));
                    check_vjp(
                        |b| matmul(&a, b, &p),
                        |dc| matmul_backward(&a, &b, dc, &p).1,
                        &b,
                        seed + 1000,
                    )
                    .unwrap_or_else(|e| panic!("dB {p:?}: {e}"));
                }
            }
        }
    }
}
