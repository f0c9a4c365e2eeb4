use shadernet_reference::{
    elementwise as reference,
    rng::Rng,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::elementwise as ops;
use shadernet_tensor::{with_stream_reads, StreamReads};

use crate::common::{device, download, round32, upload, Fixture};

const SIZES: [usize; 6] = [1, 7, 33, 129, 1000, 4099];

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn binary_ops_match_reference() {
    // Both ways the vec4 entries read (the device's measured choice is one of them).
    for mode in [StreamReads::Storage, StreamReads::Texels] {
        with_stream_reads(mode, binary_ops);
    }
}

fn binary_ops() {
    let mut rng = Rng::new(1);
    for n in SIZES {
        let a = round32(&rng.vec_uniform(n, -3.0, 3.0));
        let b = round32(&rng.vec_uniform_avoiding(n, -3.0, 3.0, &[0.0], 0.25));
        let (ta, tb) = (upload(&a, &[n]), upload(&b, &[n]));
        assert_close(
            &download(&ops::add(&ta, &tb).unwrap()),
            &reference::add(&a, &b),
            Tol::FORWARD,
            &format!("add n={n}"),
        );
        assert_close(
            &download(&ops::add_relu(&ta, &tb).unwrap()),
            &reference::add_relu(&a, &b),
            Tol::FORWARD,
            &format!("add_relu n={n}"),
        );
        assert_close(
            &download(&ops::sub(&ta, &tb).unwrap()),
            &reference::sub(&a, &b),
            Tol::FORWARD,
            &format!("sub n={n}"),
        );
        assert_close(
            &download(&ops::mul(&ta, &tb).unwrap()),
            &reference::mul(&a, &b),
            Tol::FORWARD,
            &format!("mul n={n}"),
        );
        assert_close(
            &download(&ops::div(&ta, &tb).unwrap()),
            &reference::div(&a, &b),
            Tol::FORWARD,
            &format!("div n={n}"),
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn unary_ops_and_their_gradients_match_reference() {
    // Both ways the vec4 entries read (the device's measured choice is one of them).
    for mode in [StreamReads::Storage, StreamReads::Texels] {
        with_stream_reads(mode, unary_ops_and_gradients);
    }
}

fn unary_ops_and_gradients() {
    let mut rng = Rng::new(2);
    for n in SIZES {
        // Away from the kinks at 0 and 6.
        let x = round32(&rng.vec_uniform_avoiding(n, -2.0, 8.0, &[0.0, 6.0], 0.01));
        let dy = round32(&rng.vec_uniform(n, -1.0, 1.0));
        let (tx, tdy) = (upload(&x, &[n]), upload(&dy, &[n]));
        assert_close(
            &download(&ops::relu(&tx).unwrap()),
            &reference::relu(&x),
            Tol::FORWARD,
            "relu",
        );
        assert_close(
            &download(&ops::relu6(&tx).unwrap()),
            &reference::relu6(&x),
            Tol::FORWARD,
            "relu6",
        );
        assert_close(
            &download(&ops::add_scalar(&tx, 0.75).unwrap()),
            &reference::add_scalar(&x, 0.75),
            Tol::FORWARD,
            "add_scalar",
        );
        assert_close(
            &download(&ops::mul_scalar(&tx, -1.5).unwrap()),
            &reference::mul_scalar(&x, -1.5),
            Tol::FORWARD,
            "mul_scalar",
        );
        assert_close(
            &download(&ops::relu_backward(&tdy, &tx).unwrap()),
            &reference::relu_backward(&x, &dy),
            Tol::BACKWARD,
            "relu_backward",
        );
        assert_close(
            &download(&ops::relu6_backward(&tdy, &tx).unwrap()),
            &reference::relu6_backward(&x, &dy),
            Tol::BACKWARD,
            "relu6_backward",
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bias_add_channels_broadcasts_per_channel() {
    let mut rng = Rng::new(3);
    for (n, c, hw) in [(1, 1, 1), (3, 5, 7), (2, 17, 33), (1, 3, 1)] {
        let x = round32(&rng.vec_normal(n * c * hw));
        let b = round32(&rng.vec_normal(c));
        let shape = [n, c, hw, 1];
        let y = ops::bias_add_channels(&upload(&x, &shape), &upload(&b, &[c])).unwrap();
        assert_close(
            &download(&y),
            &reference::bias_add_channels(&x, &b, n, c, hw),
            Tol::FORWARD,
            &format!("bias_add {n}x{c}x{hw}"),
        );
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn broadcast_errors_name_the_shapes() {
    let a = upload(&[0.0; 12], &[3, 4]);
    let b = upload(&[0.0; 3], &[3]);
    let err = ops::add(&a, &b).unwrap_err().to_string();
    assert!(err.contains("[3]") && err.contains("[3, 4]"), "{err}");
    let bias = upload(&[0.0; 5], &[5]);
    let err = ops::bias_add_channels(&upload(&[0.0; 24], &[2, 3, 2, 2]), &bias)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bias_add_channels") && err.contains("[5]"),
        "{err}"
    );
    let labels = shadernet_tensor::Tensor::from_u32(device(), &[1, 2, 3], &[3]).unwrap();
    let err = ops::relu(&labels).unwrap_err().to_string();
    assert!(err.contains("relu") && err.contains("F32"), "{err}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn elementwise_matches_pytorch_fixtures() {
    let fx = Fixture::load("elementwise");
    let mut checked = 0;
    for case in fx.cases.keys().cloned().collect::<Vec<_>>() {
        let op = fx
            .param(&case, "op")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (x, shape) = fx.get(&case, if fx.has(&case, "x") { "x" } else { "a" });
        let tx = upload(&x, &shape);
        let got = match op.as_str() {
            "add" | "sub" | "mul" | "div" => {
                let (b, bshape) = fx.get(&case, "b");
                let tb = upload(&b, &bshape);
                let f = match op.as_str() {
                    "add" => ops::add,
                    "sub" => ops::sub,
                    "mul" => ops::mul,
                    _ => ops::div,
                };
                f(&tx, &tb).unwrap()
            }
            "relu" => ops::relu(&tx).unwrap(),
            "relu6" => ops::relu6(&tx).unwrap(),
            "add_scalar" => {
                ops::add_scalar(&tx, fx.param(&case, "scalar").as_f64().unwrap() as f32).unwrap()
            }
            "mul_scalar" => {
                ops::mul_scalar(&tx, fx.param(&case, "scalar").as_f64().unwrap() as f32).unwrap()
            }
            "bias_add" => {
                let (b, bshape) = fx.get(&case, "b");
                ops::bias_add_channels(&tx, &upload(&b, &bshape)).unwrap()
            }
            other => panic!("elementwise fixture {case}: unknown op {other}"),
        };
        let (want, _) = fx.get(&case, "y");
        assert_close(
            &download(&got),
            &want,
            fx.tol(&case, "y", Tol::FORWARD),
            &format!("fixture {case} ({op})"),
        );
        if fx.has(&case, "dx") && (op == "relu" || op == "relu6") {
            let (dy, _) = fx.get(&case, "dy");
            let tdy = upload(&dy, &shape);
            let dx = if op == "relu" {
                ops::relu_backward(&tdy, &tx)
            } else {
                ops::relu6_backward(&tdy, &tx)
            };
            let (want, _) = fx.get(&case, "dx");
            assert_close(
                &download(&dx.unwrap()),
                &want,
                fx.tol(&case, "dx", Tol::BACKWARD),
                &format!("fixture {case} ({op} dx)"),
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no elementwise fixture cases");
}
