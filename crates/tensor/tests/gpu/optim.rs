use shadernet_reference::{
    optim as reference,
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::optim::{self as ops, AdamStep, SgdStep};
use shadernet_tensor::{DType, Tensor};

use crate::common::{device, download, round32, upload};

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn sgd_matches_reference_over_several_steps() {
    let mut rng = Rng::new(12);
    let n = 1037;
    for (momentum, dampening, wd, nesterov) in [
        (0.0, 0.0, 0.0, false),
        (0.9, 0.0, 5e-4, false),
        (0.9, 0.0, 1e-2, true),
        (0.8, 0.3, 0.0, false),
    ] {
        let mut p = round32(&rng.vec_normal(n));
        let tp = upload(&p, &[n]);
        let buf = Tensor::zeros(device(), &[n], DType::F32).unwrap();
        let mut rbuf = None;
        for step in 0..4 {
            let g = round32(&rng.vec_normal(n));
            reference::sgd_step(
                &mut p, &g, &mut rbuf, 0.05, momentum, dampening, wd, nesterov,
            );
            let s = SgdStep {
                lr: 0.05,
                momentum: momentum as f32,
                dampening: dampening as f32,
                weight_decay: wd as f32,
                nesterov,
                first_step: step == 0,
            };
            ops::sgd_step(&tp, &upload(&g, &[n]), &buf, &s).unwrap();
        }
        assert_close(
            &download(&tp),
            &p,
            Tol::FORWARD,
            &format!("sgd m{momentum} d{dampening} wd{wd} nesterov{nesterov}"),
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn adam_and_adamw_match_reference_over_several_steps() {
    let mut rng = Rng::new(13);
    let n = 777;
    for decoupled in [true, false] {
        let mut p = round32(&rng.vec_normal(n));
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        let tp = upload(&p, &[n]);
        let tm = Tensor::zeros(device(), &[n], DType::F32).unwrap();
        let tv = Tensor::zeros(device(), &[n], DType::F32).unwrap();
        for step in 1..=5 {
            let g = round32(&rng.vec_normal(n));
            if decoupled {
                reference::adamw_step(
                    &mut p, &g, &mut m, &mut v, step, 1e-3, 0.9, 0.999, 1e-8, 1e-2,
                );
            } else {
                reference::adam_step(
                    &mut p, &g, &mut m, &mut v, step, 1e-3, 0.9, 0.999, 1e-8, 1e-2,
                );
            }
            let s = AdamStep {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 1e-2,
                decoupled,
                step: step as u32,
            };
            ops::adam_step(&tp, &upload(&g, &[n]), &tm, &tv, &s).unwrap();
        }
        assert_close(
            &download(&tp),
            &p,
            Tol::FORWARD,
            &format!("adam decoupled={decoupled}"),
        );
        assert_close(&download(&tm), &m, Tol::FORWARD, "adam m");
        assert_close(&download(&tv), &v, Tol::FORWARD, "adam v");
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn clip_coefficient_is_min_of_one_and_ratio() {
    for (sum_sq, max_norm, want) in [(16.0f64, 2.0f32, 0.5f64), (1.0, 5.0, 1.0), (0.0, 1.0, 1.0)] {
        let c = ops::clip_coefficient(&upload(&[sum_sq], &[1]), max_norm).unwrap();
        let want = want.min(f64::from(max_norm) / (sum_sq.sqrt() + 1e-6));
        assert_close(&download(&c), &[want], Tol::FORWARD, "clip coefficient");
    }
    let bad = upload(&[1.0, 2.0], &[2]);
    assert!(ops::clip_coefficient(&bad, 1.0).is_err());
    let p = upload(&[1.0; 3], &[3]);
    let g = upload(&[1.0; 4], &[4]);
    let err = ops::sgd_step(
        &p,
        &g,
        &p,
        &SgdStep {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            first_step: true,
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("[4]"), "{err}");
}
