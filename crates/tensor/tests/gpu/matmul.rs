use shadernet_reference::{
    matmul as reference,
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::matmul::{self as ops, MatmulVariant};
use shadernet_tensor::{DType, Tensor};

use crate::common::{device, download, round32, upload, Fixture};

/// Runs every variant this device offers on one problem and compares with the reference.
fn check(
    batch: usize,
    m: usize,
    n: usize,
    k: usize,
    ta: bool,
    tb: bool,
    batched_b: bool,
    rng: &mut Rng,
) {
    let a_shape: Vec<usize> = match (batch > 1, ta) {
        (true, false) => vec![batch, m, k],
        (true, true) => vec![batch, k, m],
        (false, false) => vec![m, k],
        (false, true) => vec![k, m],
    };
    let b_rows_cols = if tb { [n, k] } else { [k, n] };
    let b_shape: Vec<usize> = if batched_b && batch > 1 {
        vec![batch, b_rows_cols[0], b_rows_cols[1]]
    } else {
        b_rows_cols.to_vec()
    };
    let a = round32(&rng.vec_uniform(a_shape.iter().product(), -1.0, 1.0));
    let b = round32(&rng.vec_uniform(b_shape.iter().product(), -1.0, 1.0));
    let b_full: Vec<f64> = if b_shape.len() == 3 || batch == 1 {
        b.clone()
    } else {
        (0..batch).flat_map(|_| b.iter().copied()).collect()
    };
    let p = reference::MatmulParams {
        batch,
        m,
        n,
        k,
        trans_a: ta,
        trans_b: tb,
    };
    let want = reference::matmul(&a, &b_full, &p);
    let (ta_t, tb_t) = (upload(&a, &a_shape), upload(&b, &b_shape));
    // Long reductions accumulate f32 rounding: scale atol with sqrt(k).
    let tol = Tol::new(1e-5 * (k as f64).sqrt().max(1.0), 1e-4);
    for variant in ops::available_variants(device()) {
        let c = Tensor::uninit(device(), &[batch, m, n], DType::F32).unwrap();
        ops::matmul_into(&ta_t, &tb_t, ta, tb, &c, variant).unwrap();
        assert_close(
            &download(&c),
            &want,
            tol,
            &format!("matmul {variant:?} b{batch} m{m} n{n} k{k} ta{ta} tb{tb}"),
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_matches_reference_on_odd_shapes() {
    let mut rng = Rng::new(6);
    let sizes = [1, 7, 33, 129];
    for &m in &sizes {
        for &n in &sizes {
            for &k in &sizes {
                for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                    if m * n * k > 129 * 129 * 33 && (ta || tb) {
                        continue; // the large ones once, untransposed
                    }
                    check(1, m, n, k, ta, tb, false, &mut rng);
                }
            }
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn batched_matmul_matches_reference() {
    let mut rng = Rng::new(7);
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        check(3, 33, 7, 65, ta, tb, true, &mut rng);
        check(3, 7, 129, 33, ta, tb, false, &mut rng);
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_gradients_match_reference() {
    // dA = dC · B^T and dB = A^T · dC, computed with the transposed variants.
    let mut rng = Rng::new(8);
    let (m, n, k) = (33, 17, 65);
    let a = round32(&rng.vec_normal(m * k));
    let b = round32(&rng.vec_normal(k * n));
    let dc = round32(&rng.vec_normal(m * n));
    let p = reference::MatmulParams {
        batch: 1,
        m,
        n,
        k,
        trans_a: false,
        trans_b: false,
    };
    let (da, db) = reference::matmul_backward(&a, &b, &dc, &p);
    let (ta, tb, tdc) = (
        upload(&a, &[m, k]),
        upload(&b, &[k, n]),
        upload(&dc, &[m, n]),
    );
    let tol = Tol::new(1e-4, 1e-3);
    assert_close(
        &download(&ops::matmul(&tdc, &tb, false, true).unwrap()),
        &da,
        tol,
        "dA",
    );
    assert_close(
        &download(&ops::matmul(&ta, &tdc, true, false).unwrap()),
        &db,
        tol,
        "dB",
    );
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_shape_errors_are_typed() {
    let a = upload(&[0.0; 6], &[2, 3]);
    let b = upload(&[0.0; 8], &[4, 2]);
    let err = ops::matmul(&a, &b, false, false).unwrap_err().to_string();
    assert!(
        err.contains("matmul") && err.contains("[2, 3]") && err.contains("[4, 2]"),
        "{err}"
    );
    let v = upload(&[0.0; 6], &[6]);
    assert!(ops::matmul(&v, &b, false, false).is_err());
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_matches_pytorch_fixtures() {
    let fx = Fixture::load("matmul");
    for case in fx.cases.keys().cloned().collect::<Vec<_>>() {
        let (ta, tb) = (fx.bool(&case, "trans_a"), fx.bool(&case, "trans_b"));
        let (a, a_shape) = fx.get(&case, "a");
        let (b, b_shape) = fx.get(&case, "b");
        let (want, _) = fx.get(&case, "y");
        let k = fx.usize(&case, "k");
        let (a_t, b_t) = (upload(&a, &a_shape), upload(&b, &b_shape));
        for variant in ops::available_variants(device()) {
            let s = ops::matmul_shape(&a_t, &b_t, ta, tb).unwrap();
            let c = Tensor::uninit(device(), &[s.batch, s.m, s.n], DType::F32).unwrap();
            ops::matmul_into(&a_t, &b_t, ta, tb, &c, variant).unwrap();
            let tol = fx.tol(
                &case,
                "y",
                Tol::new(1e-5 * (k as f64).sqrt().max(1.0), 1e-4),
            );
            assert_close(
                &download(&c),
                &want,
                tol,
                &format!("fixture {case} {variant:?}"),
            );
        }
        let _ = MatmulVariant::Portable;
    }
}
