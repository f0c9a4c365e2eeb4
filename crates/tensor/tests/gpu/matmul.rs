use shadernet_reference::{
    matmul as reference,
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::matmul::{self as ops, MatmulVariant};
use shadernet_tensor::{DType, Device, Tensor};

use crate::common::{device, download, round32, upload, Fixture};

/// Runs every variant this device offers on one problem and compares with the reference.
#[allow(clippy::too_many_arguments)] // the problem's parameters, spelled out at each call
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
fn matmul_vec4_path_matches_reference() {
    // The kernels read vec4s where each operand's contiguous dimension (k for A [m, k]
    // and B [n, k], m for A [k, m], n for B [k, n]) is a multiple of 4: make exactly
    // those multiples of 4, the rest odd, and none a multiple of a block.
    let mut rng = Rng::new(11);
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let m = if ta { 68 } else { 67 };
        let n = if tb { 131 } else { 132 };
        let k = if ta && !tb { 37 } else { 36 };
        check(1, m, n, k, ta, tb, false, &mut rng);
        check(
            3,
            12,
            20,
            if ta && !tb { 7 } else { 8 },
            ta,
            tb,
            true,
            &mut rng,
        );
        check(2, m, n, k, ta, tb, false, &mut rng);
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn narrow_products_match_reference() {
    // n <= 16 and n <= 32 take narrower blocks on the subgroup path; cover both sides
    // of each bound, with scalar loads (odd k, m) and vec4 loads (multiples of 4).
    let mut rng = Rng::new(12);
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        for n in [3, 16, 17, 31, 32] {
            check(1, 70, n, 19, ta, tb, false, &mut rng);
        }
        for n in [16, 32] {
            check(2, 68, n, 20, ta, tb, false, &mut rng);
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
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn variants_follow_the_adapter_subgroups() {
    let dev = device();
    let info = dev.adapter();
    let variants = ops::available_variants(dev);
    assert!(variants.contains(&MatmulVariant::Portable));
    let fixed = info.subgroup_min_size == info.subgroup_max_size
        && [8, 16, 32, 64].contains(&info.subgroup_min_size);
    let expect_subgroup = dev.has_subgroups() && fixed;
    assert_eq!(
        variants.contains(&MatmulVariant::Subgroup),
        expect_subgroup,
        "adapter {} subgroups {} sizes {}..{}: {variants:?}",
        info.name,
        dev.has_subgroups(),
        info.subgroup_min_size,
        info.subgroup_max_size
    );
    assert_eq!(ops::subgroup_size(dev).is_some(), expect_subgroup);
    // The automatic choice is always a variant the device can run.
    let a = upload(&[0.0; 64 * 8], &[64, 8]);
    for n in [1, 16, 64, 1000] {
        let s = ops::MatmulShape {
            batch: 1,
            m: 64,
            n,
            k: 8,
        };
        assert!(variants.contains(&ops::matmul_variant(&a, &s)));
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_shares_a_2d_a_across_batches() {
    let mut rng = Rng::new(9);
    let (batch, m, n, k) = (3, 13, 70, 9);
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let a_shape = if ta { vec![k, m] } else { vec![m, k] };
        let b_shape = if tb {
            vec![batch, n, k]
        } else {
            vec![batch, k, n]
        };
        let a = round32(&rng.vec_uniform(m * k, -1.0, 1.0));
        let b = round32(&rng.vec_uniform(batch * n * k, -1.0, 1.0));
        let a_full: Vec<f64> = (0..batch).flat_map(|_| a.iter().copied()).collect();
        let p = reference::MatmulParams {
            batch,
            m,
            n,
            k,
            trans_a: ta,
            trans_b: tb,
        };
        let want = reference::matmul(&a_full, &b, &p);
        let (ta_t, tb_t) = (upload(&a, &a_shape), upload(&b, &b_shape));
        for variant in ops::available_variants(device()) {
            let c = Tensor::uninit(device(), &[batch, m, n], DType::F32).unwrap();
            ops::matmul_into(&ta_t, &tb_t, ta, tb, &c, variant).unwrap();
            let what = format!("shared A {variant:?} ta{ta} tb{tb}");
            assert_close(&download(&c), &want, Tol::new(1e-5, 1e-4), &what);
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_k_tail_adds_exact_zeros() {
    // k = 5: the last step of 4 has 3 padding lanes. They must contribute exact
    // zeros even where the clamped element they would read is infinite.
    let (m, n, k) = (9, 67, 5);
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let mut a = vec![0.5; m * k];
        let mut b = vec![0.25; k * n];
        // Row 0 of op(A) has an infinity at its last k; column 3 of op(B) too.
        a[if ta { (k - 1) * m } else { k - 1 }] = f64::INFINITY;
        b[if tb { 3 * k + k - 1 } else { (k - 1) * n + 3 }] = f64::NEG_INFINITY;
        let a_shape = if ta { [k, m] } else { [m, k] };
        let b_shape = if tb { [n, k] } else { [k, n] };
        let p = reference::MatmulParams {
            batch: 1,
            m,
            n,
            k,
            trans_a: ta,
            trans_b: tb,
        };
        let want = reference::matmul(&a, &b, &p);
        let (at, bt) = (upload(&a, &a_shape), upload(&b, &b_shape));
        for variant in ops::available_variants(device()) {
            let c = Tensor::uninit(device(), &[m, n], DType::F32).unwrap();
            ops::matmul_into(&at, &bt, ta, tb, &c, variant).unwrap();
            for (i, (&g, &w)) in download(&c).iter().zip(&want).enumerate() {
                let same = if w.is_finite() {
                    (f64::from(g) - w).abs() < 1e-5
                } else {
                    w.is_nan() && g.is_nan() || f64::from(g) == w
                };
                assert!(
                    same,
                    "{variant:?} ta{ta} tb{tb} C[{}][{}] = {g}, want {w}",
                    i / n,
                    i % n
                );
            }
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_is_one_dispatch_and_allocates_nothing_in_steady_state() {
    // Its own device: the shared one's counters move with the tests running beside.
    let dev = Device::new(std::env::var("SHADERNET_DEVICE").ok().as_deref()).unwrap();
    let (batch, m, n, k) = (2, 33, 65, 17);
    for variant in ops::available_variants(&dev) {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a_shape = if ta { [batch, k, m] } else { [batch, m, k] };
            let b_shape = if tb { [n, k] } else { [k, n] };
            let a = Tensor::zeros(&dev, &a_shape, DType::F32).unwrap();
            let b = Tensor::zeros(&dev, &b_shape, DType::F32).unwrap();
            let c = ops::matmul(&a, &b, ta, tb).unwrap();
            ops::matmul_into(&a, &b, ta, tb, &c, variant).unwrap();
            drop(ops::matmul(&a, &b, ta, tb).unwrap());
            dev.sync().unwrap();
            let before = dev.counters();
            ops::matmul_into(&a, &b, ta, tb, &c, variant).unwrap();
            drop(ops::matmul(&a, &b, ta, tb).unwrap());
            dev.sync().unwrap();
            let d = dev.counters() - before;
            let what = format!("{variant:?} ta{ta} tb{tb}: {d:?}");
            assert_eq!(d.dispatches, 2, "{what}");
            assert_eq!(d.allocations, 0, "{what}");
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn matmul_splits_a_b_larger_than_one_binding() {
    // A Linear weight [n, k] over the 128 MiB binding limit: C is computed in
    // column windows, one dispatch each.
    let dev = device();
    let (m, k) = (2, 8200);
    let max_rows = dev.max_binding_bytes() as usize / 4 / k;
    let n = max_rows + 5;
    if n > 8192 {
        eprintln!(
            "binding limit {} too large to exceed cheaply: skipped",
            dev.max_binding_bytes()
        );
        return;
    }
    let mut rng = Rng::new(10);
    let a = round32(&rng.vec_uniform(m * k, -1.0, 1.0));
    let mut b = rng.vec_uniform(n * k, -1.0, 1.0);
    b.iter_mut().for_each(|x| *x = f64::from(*x as f32));
    assert!((n * k * 4) as u64 > dev.max_binding_bytes());
    let p = reference::MatmulParams {
        batch: 1,
        m,
        n,
        k,
        trans_a: false,
        trans_b: true,
    };
    let want = reference::matmul(&a, &b, &p);
    let (at, bt) = (upload(&a, &[m, k]), upload(&b, &[n, k]));
    drop(b);
    let tol = Tol::new(1e-5 * (k as f64).sqrt(), 1e-4);
    for variant in ops::available_variants(dev) {
        let c = Tensor::uninit(dev, &[m, n], DType::F32).unwrap();
        ops::matmul_into(&at, &bt, false, true, &c, variant).unwrap();
        assert_close(&download(&c), &want, tol, &format!("windows {variant:?}"));
    }
}
