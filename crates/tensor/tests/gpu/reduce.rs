use shadernet_reference::{
    reduce as reference,
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::reduce as ops;

use crate::common::{download, round32, upload, Fixture};

const CASES: &[(&[usize], &[usize])] = &[
    (&[7], &[0]),
    (&[129], &[0]),
    // Over 256 per output: the workgroup tree (below: one invocation per output).
    (&[300, 3], &[0]),
    (&[2, 1000], &[1]),
    (&[3, 5], &[1]),
    (&[3, 5], &[0]),
    (&[3, 5, 7], &[0, 2]),
    (&[3, 5, 7, 2], &[0, 2, 3]),
    (&[2, 3, 5, 7], &[1, 3]),
    (&[4, 17, 13, 13], &[0, 2, 3]),
    (&[1, 3, 1, 33], &[1]),
    (&[5, 7], &[]),
];

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn sum_and_mean_match_reference() {
    let mut rng = Rng::new(4);
    for &(shape, axes) in CASES {
        let n: usize = shape.iter().product();
        let x = round32(&rng.vec_normal(n));
        let t = upload(&x, shape);
        for keepdim in [false, true] {
            let (want, want_shape) = reference::sum_axes(&x, shape, axes, keepdim);
            let got = ops::sum(&t, axes, keepdim).unwrap();
            assert_eq!(got.shape(), want_shape.as_slice(), "sum {shape:?} {axes:?}");
            assert_close(
                &download(&got),
                &want,
                Tol::FORWARD,
                &format!("sum {shape:?} {axes:?}"),
            );
            let (want, _) = reference::mean_axes(&x, shape, axes, keepdim);
            assert_close(
                &download(&ops::mean(&t, axes, keepdim).unwrap()),
                &want,
                Tol::FORWARD,
                &format!("mean {shape:?} {axes:?}"),
            );
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn reduce_backward_matches_reference() {
    let mut rng = Rng::new(5);
    for &(shape, axes) in CASES {
        let (_, out_shape) =
            reference::sum_axes(&vec![0.0; shape.iter().product()], shape, axes, false);
        let m: usize = out_shape.iter().product();
        let dy = round32(&rng.vec_normal(m));
        let want = reference::sum_axes_backward(&dy, shape, axes);
        let got = ops::reduce_backward(&upload(&dy, &out_shape), shape, axes, 1.0).unwrap();
        assert_close(
            &download(&got),
            &want,
            Tol::BACKWARD,
            &format!("sum backward {shape:?} {axes:?}"),
        );
        let want = reference::mean_axes_backward(&dy, shape, axes);
        let count: usize = axes.iter().map(|&a| shape[a]).product();
        let got = ops::reduce_backward(&upload(&dy, &out_shape), shape, axes, 1.0 / count as f32)
            .unwrap();
        assert_close(
            &download(&got),
            &want,
            Tol::BACKWARD,
            &format!("mean backward {shape:?} {axes:?}"),
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn reduce_matches_pytorch_fixtures() {
    let fx = Fixture::load("reduce");
    for case in fx.cases.keys().cloned().collect::<Vec<_>>() {
        let (x, shape) = fx.get(&case, "x");
        let axes: Vec<usize> = fx
            .param(&case, "axes")
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let keepdim = fx.bool(&case, "keepdim");
        let mean = fx.param(&case, "op").as_str() == Some("mean");
        let t = upload(&x, &shape);
        let got = if mean {
            ops::mean(&t, &axes, keepdim)
        } else {
            ops::sum(&t, &axes, keepdim)
        }
        .unwrap();
        let (want, want_shape) = fx.get(&case, "y");
        let want_numel: usize = want_shape.iter().product();
        assert_eq!(got.numel(), want_numel, "{case}");
        assert_close(
            &download(&got),
            &want,
            fx.tol(&case, "y", Tol::FORWARD),
            &format!("fixture {case}"),
        );
        if fx.has(&case, "dx") {
            let (dy, _) = fx.get(&case, "dy");
            let count: usize = axes.iter().map(|&a| shape[a]).product();
            let scale = if mean { 1.0 / count as f32 } else { 1.0 };
            let dx = ops::reduce_backward(&upload(&dy, &[dy.len()]), &shape, &axes, scale).unwrap();
            let (want, _) = fx.get(&case, "dx");
            assert_close(
                &download(&dx),
                &want,
                fx.tol(&case, "dx", Tol::BACKWARD),
                &format!("fixture {case} dx"),
            );
        }
    }
}
