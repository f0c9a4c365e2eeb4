use shadernet_reference::{
    rng::Rng,
    softmax as reference,
    tol::{assert_close, Tol},
};
use shadernet_tensor::ops::softmax as ops;
use shadernet_tensor::{DType, Tensor};

use crate::common::{device, download, round32, upload, Fixture};

fn labels(rng: &mut Rng, n: usize, classes: usize) -> (Vec<usize>, Tensor) {
    let l: Vec<usize> = (0..n).map(|_| rng.below(classes)).collect();
    let u: Vec<u32> = l.iter().map(|&v| v as u32).collect();
    (l, Tensor::from_u32(device(), &u, &[n]).unwrap())
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn cross_entropy_and_gradient_match_reference() {
    let mut rng = Rng::new(9);
    for (n, c) in [(1, 2), (7, 10), (33, 17), (129, 3)] {
        for smoothing in [0.0, 0.1] {
            let x = round32(
                &rng.vec_normal(n * c)
                    .iter()
                    .map(|v| v * 3.0)
                    .collect::<Vec<_>>(),
            );
            let (l, tl) = labels(&mut rng, n, c);
            let tx = upload(&x, &[n, c]);
            let ce = ops::cross_entropy(&tx, &tl, smoothing as f32).unwrap();
            let want = reference::cross_entropy(&x, &l, n, c, smoothing);
            assert_close(
                &download(&ce.loss),
                &[want],
                Tol::FORWARD,
                &format!("ce n{n} c{c} s{smoothing}"),
            );
            assert_close(
                &download(&ce.log_probs),
                &reference::log_softmax(&x, n, c),
                Tol::FORWARD,
                "log_softmax",
            );
            let one = Tensor::from_f32(device(), &[1.0], &[1]).unwrap();
            let d =
                ops::cross_entropy_backward(&ce.log_probs, &tl, &one, smoothing as f32).unwrap();
            let want = reference::cross_entropy_backward(&x, &l, n, c, smoothing);
            assert_close(
                &download(&d),
                &want,
                Tol::BACKWARD,
                &format!("ce grad n{n} c{c}"),
            );
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn log_softmax_backward_matches_reference() {
    let mut rng = Rng::new(10);
    let (n, c) = (7, 13);
    let x = round32(&rng.vec_normal(n * c));
    let dy = round32(&rng.vec_normal(n * c));
    let y = reference::log_softmax(&x, n, c);
    let want = reference::log_softmax_backward(&y, &dy, n, c);
    let ty = ops::log_softmax(&upload(&x, &[n, c])).unwrap();
    let got = ops::log_softmax_backward(&ty, &upload(&dy, &[n, c])).unwrap();
    assert_close(
        &download(&got),
        &want,
        Tol::BACKWARD,
        "log_softmax_backward",
    );
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn argmax_and_count_correct_match_reference() {
    let mut rng = Rng::new(11);
    let (n, c) = (129, 10);
    let mut x = round32(&rng.vec_normal(n * c));
    x[5] = x[3].max(x[5]); // a tie in row 0: the first maximum wins
    x[3] = x[5];
    let (l, tl) = labels(&mut rng, n, c);
    let tx = upload(&x, &[n, c]);
    let idx = ops::argmax(&tx).unwrap().to_vec_u32().unwrap();
    let want: Vec<u32> = reference::argmax_rows(&x, n, c)
        .iter()
        .map(|&v| v as u32)
        .collect();
    assert_eq!(idx, want);
    let counter = Tensor::zeros(device(), &[1], DType::U32).unwrap();
    ops::count_correct(&tx, &tl, &counter).unwrap();
    ops::count_correct(&tx, &tl, &counter).unwrap();
    let got = counter.to_vec_u32().unwrap()[0] as usize;
    assert_eq!(got, 2 * reference::count_correct(&x, &l, n, c));
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn cross_entropy_matches_pytorch_fixtures() {
    let fx = Fixture::load("cross_entropy");
    for case in fx.cases.keys().cloned().collect::<Vec<_>>() {
        let (x, shape) = fx.get(&case, "logits");
        let (l, _) = fx.get(&case, "labels");
        let smoothing = fx.param(&case, "label_smoothing").as_f64().unwrap_or(0.0) as f32;
        let u: Vec<u32> = l.iter().map(|&v| v as u32).collect();
        let tl = Tensor::from_u32(device(), &u, &[u.len()]).unwrap();
        let ce = ops::cross_entropy(&upload(&x, &shape), &tl, smoothing).unwrap();
        let (want, _) = fx.get(&case, "loss");
        assert_close(
            &download(&ce.loss),
            &want,
            fx.tol(&case, "loss", Tol::FORWARD),
            &format!("fixture {case} loss"),
        );
        let one = Tensor::from_f32(device(), &[1.0], &[1]).unwrap();
        let d = ops::cross_entropy_backward(&ce.log_probs, &tl, &one, smoothing).unwrap();
        let (want, _) = fx.get(&case, "dlogits");
        assert_close(
            &download(&d),
            &want,
            fx.tol(&case, "dlogits", Tol::BACKWARD),
            &format!("fixture {case} dlogits"),
        );
    }
}
