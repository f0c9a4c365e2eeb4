use shadernet::ops::batch_norm::{batch_norm_grad_records, BatchNormSaved};
use shadernet::ops::conv2d::{
    conv2d_backward_kept_from_padded, conv2d_backward_kept_from_padded_with_bn_sums, conv2d_dy_layout, Activation,
    BnSumsOperands, Conv2dConfig, InputGrad,
};
use shadernet::{Device, Tensor};
use std::time::Instant;
fn main() {
    let a: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let (n, c, h, iters) = (a[0], a[1], a[2], a[3]);
    let dev = Device::new(None).unwrap();
    let f = |len: usize, s: &[usize]| Tensor::from_f32(&dev, &(0..len).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect::<Vec<_>>(), s).unwrap();
    let cfg = Conv2dConfig::new(1, 1);
    let shape = [n, c, h, h];
    let l = conv2d_dy_layout(&dev, shape, [c, c, 3, 3], &cfg).unwrap().unwrap();
    let dyp = f(l.floats(), &[l.floats()]);
    let x = f(n * c * h * h, &shape);
    let w = f(c * c * 9, &[c, c, 3, 3]);
    let xb = f(n * c * h * h, &shape);
    let ones = f(c, &[c]);
    let saved = BatchNormSaved { mean: f(c, &[c]), invstd: f(c, &[c]) };
    let rec = batch_norm_grad_records(&ones, &ones, &saved).unwrap();
    for mode in [0, 1, 0, 1, 0, 1] {
        let run = || {
            if mode == 0 {
                drop(conv2d_backward_kept_from_padded(Some(&x), None, &w, &dyp, &l, &cfg, InputGrad::Yes { plus: None }).unwrap());
            } else {
                let bn = BnSumsOperands { x: &xb, records: &rec, act: Activation::Relu };
                drop(conv2d_backward_kept_from_padded_with_bn_sums(Some(&x), None, &w, (&dyp, &l), &cfg, bn).unwrap());
            }
            dev.sync().unwrap();
        };
        run();
        let t = Instant::now();
        for _ in 0..iters { run(); }
        println!("mode {mode}: {:.2} ms", t.elapsed().as_secs_f64() * 1e3 / iters as f64);
    }
}
