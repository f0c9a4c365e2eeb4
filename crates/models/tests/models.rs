//! Model-level tests: PyTorch key names and parameter counts, forward shapes,
//! a training step that makes no allocations, compiles or readbacks in steady
//! state, overfitting one batch, and the blocks' fused residual batch norm
//! against the unfused ops.

use std::sync::OnceLock;

use shadernet_models::{build, Model, ModelSpec};
use shadernet_nn::functional as f;
use shadernet_nn::optim::{Optimizer, OptimizerConfig};
use shadernet_nn::{io, Module, Tape, Var};
use shadernet_tensor::{Device, Tensor};

fn device() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| {
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            let dir = std::env::temp_dir().join("shadernet-test-xdg");
            let _ = std::fs::create_dir_all(&dir);
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
        Device::new(std::env::var("SHADERNET_DEVICE").ok().as_deref()).expect("a GPU adapter")
    })
}

fn cifar(name: &str) -> Model {
    build(name, ModelSpec::default_for(name), device(), 0).unwrap()
}

fn keys(m: &Model) -> Vec<String> {
    io::expected(m).into_iter().map(|e| e.name).collect()
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn resnet20_has_torchvision_names_and_size() {
    let m = cifar("resnet20");
    let k = keys(&m);
    for name in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv1.weight",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_var",
        "layer3.2.bn2.num_batches_tracked",
        "fc.weight",
        "fc.bias",
    ] {
        assert!(k.iter().any(|x| x == name), "missing {name}");
    }
    assert!(!k.iter().any(|x| x.starts_with("layer1.0.downsample")));
    assert_eq!(m.num_params(), 272_474);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn vgg_cifar_and_lenet_names_follow_models_md() {
    let k = keys(&cifar("vgg_cifar"));
    for name in [
        "features.0.weight",
        "features.1.running_mean",
        "features.3.weight",
        "features.4.num_batches_tracked",
        "features.7.weight",
        "classifier.weight",
    ] {
        assert!(k.iter().any(|x| x == name), "missing {name}: {k:?}");
    }
    let lenet = cifar("lenet5");
    assert_eq!(
        keys(&lenet),
        [
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias"
        ]
    );
    assert_eq!(lenet.num_params(), 62_006);
}

fn batch(n: usize, c: usize, hw: usize, classes: u32, seed: u64) -> (Tensor, Tensor) {
    let mut rng = shadernet_reference::rng::Rng::new(seed);
    let x: Vec<f32> = rng
        .vec_normal(n * c * hw * hw)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let y: Vec<u32> = (0..n).map(|_| rng.below(classes as usize) as u32).collect();
    (
        Tensor::from_f32(device(), &x, &[n, c, hw, hw]).unwrap(),
        Tensor::from_u32(device(), &y, &[n]).unwrap(),
    )
}

fn step(model: &Model, opt: &mut Optimizer, x: &Tensor, y: &Tensor, lr: f32) -> Tensor {
    let tape = Tape::training();
    let logits = model.forward(&tape, &Var::constant(x.clone())).unwrap();
    let loss = f::cross_entropy(&tape, &logits, y, 0.0).unwrap();
    let grads = tape.backward(&loss).unwrap();
    opt.step(&grads, lr).unwrap();
    loss.into_tensor()
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn training_step_is_allocation_compile_and_readback_free_in_steady_state() {
    // A device of our own so other tests' work does not show in the counters.
    let dev = Device::new(std::env::var("SHADERNET_DEVICE").ok().as_deref()).unwrap();
    let model = build("resnet20", ModelSpec::default_for("resnet20"), &dev, 1).unwrap();
    let mut opt = Optimizer::new(OptimizerConfig::sgd(0.9, 5e-4, false), model.params()).unwrap();
    let mut rng = shadernet_reference::rng::Rng::new(3);
    let xs: Vec<f32> = rng
        .vec_normal(8 * 3 * 32 * 32)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let x = Tensor::from_f32(&dev, &xs, &[8, 3, 32, 32]).unwrap();
    let y = Tensor::from_u32(&dev, &[1, 2, 3, 4, 5, 6, 7, 8], &[8]).unwrap();
    for _ in 0..2 {
        drop(step(&model, &mut opt, &x, &y, 0.01));
    }
    dev.sync().unwrap();
    let before = dev.counters();
    for _ in 0..3 {
        x.write_f32(&xs).unwrap(); // the loader's upload into the same buffer
        drop(step(&model, &mut opt, &x, &y, 0.01));
    }
    dev.sync().unwrap();
    let d = dev.counters() - before;
    assert_eq!(d.allocations, 0, "{d:?}");
    assert_eq!(d.pipeline_compiles, 0, "{d:?}");
    assert_eq!(d.readbacks, 0, "{d:?}");
    assert!(d.submits <= 3 * 4, "{d:?}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn lenet_overfits_one_batch() {
    let model = cifar("lenet5");
    let mut opt = Optimizer::new(OptimizerConfig::adamw(0.0), model.params()).unwrap();
    let (x, y) = batch(16, 3, 32, 10, 5);
    let first = step(&model, &mut opt, &x, &y, 3e-3)
        .to_scalar_f32()
        .unwrap();
    let mut last = first;
    for _ in 0..60 {
        last = step(&model, &mut opt, &x, &y, 3e-3)
            .to_scalar_f32()
            .unwrap();
    }
    assert!(first > 1.5 && last < 0.1, "loss {first} -> {last}");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn state_dict_round_trips_through_safetensors() {
    let a = cifar("resnet20");
    let b = build("resnet20", ModelSpec::default_for("resnet20"), device(), 99).unwrap();
    let sd = io::state_dict(&a).unwrap();
    let bytes = sd.to_bytes().unwrap();
    let loaded = shadernet_nn::state_dict::StateDict::from_bytes(&bytes).unwrap();
    io::load_state_dict(&b, &loaded, "resnet20").unwrap();
    let (x, _) = batch(2, 3, 32, 10, 7);
    let tape = Tape::inference();
    let ya = a
        .forward(&tape, &Var::constant(x.clone()))
        .unwrap()
        .tensor()
        .to_vec_f32()
        .unwrap();
    let yb = b
        .forward(&tape, &Var::constant(x))
        .unwrap()
        .tensor()
        .to_vec_f32()
        .unwrap();
    assert_eq!(ya, yb);
    // Another model's weights: every problem named at once.
    let err = io::load_state_dict(&cifar("lenet5"), &loaded, "lenet5")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("lenet5") && err.contains("missing") && err.contains("unexpected"),
        "{err}"
    );
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn wrong_inputs_and_names_are_typed_errors() {
    let m = cifar("resnet20");
    let (x, _) = batch(2, 1, 32, 10, 1);
    let err = m
        .forward(&Tape::inference(), &Var::constant(x))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("resnet20") && err.contains("[2, 1, 32, 32]"),
        "{err}"
    );
    assert!(build("resnet21", ModelSpec::default_for("resnet20"), device(), 0).is_err());
    let tiny = ModelSpec {
        in_channels: 3,
        image_size: [8, 8],
        num_classes: 10,
    };
    assert!(build("lenet5", tiny, device(), 0).is_err());
}

/// A strided 1x1 convolution (ResNet's downsampling shortcut) runs as a subsample
/// and a stride-1 pointwise convolution: its output and both gradients equal the
/// f64 reference of the strided convolution, on odd sizes and unequal strides.
#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn strided_pointwise_conv_matches_reference() {
    use shadernet_nn::Param;
    use shadernet_reference::conv2d::{self as reference, Conv2dParams};
    use shadernet_reference::tol::{assert_close, Tol};
    use shadernet_tensor::ops::conv2d::Conv2dConfig;
    let mut rng = shadernet_reference::rng::Rng::new(21);
    for (n, c, h, w, k, stride, groups) in [
        (2, 5, 7, 9, 3, [2, 2], 1),
        (1, 6, 13, 8, 4, [2, 3], 2),
        (3, 4, 5, 5, 8, [3, 1], 1),
    ] {
        let p = Conv2dParams {
            n,
            c_in: c,
            h,
            w,
            c_out: k,
            kh: 1,
            kw: 1,
            stride_h: stride[0],
            stride_w: stride[1],
            pad_top: 0,
            pad_bottom: 0,
            pad_left: 0,
            pad_right: 0,
            dilation_h: 1,
            dilation_w: 1,
            groups,
        };
        let round = |v: Vec<f64>| -> Vec<f64> { v.into_iter().map(|x| x as f32 as f64).collect() };
        let x = round(rng.vec_normal(p.x_len()));
        let wt = round(rng.vec_normal(p.w_len()));
        let dy = round(rng.vec_normal(p.y_len()));
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
        let upload = |v: &[f64], s: &[usize]| Tensor::from_f32(device(), &f32s(v), s).unwrap();
        let xp = Param::new(upload(&x, &[n, c, h, w]));
        let wp = Param::new(upload(&wt, &[k, c / groups, 1, 1]));
        let cfg = Conv2dConfig::new(1, 0)
            .with_stride(stride)
            .with_groups(groups);
        let tape = Tape::training();
        let y = f::conv2d(&tape, &tape.param(&xp), &tape.param(&wp), None, &cfg).unwrap();
        let ys = [n, k, p.h_out(), p.w_out()];
        assert_eq!(y.shape(), ys.as_slice());
        let ctx = format!("{n}x{c}x{h}x{w} -> {k}, stride {stride:?}, groups {groups}");
        let got_y = y.tensor().to_vec_f32().unwrap();
        assert_close(
            &got_y,
            &reference::conv2d(&x, &wt, None, &p),
            Tol::FORWARD,
            &ctx,
        );
        let grads = tape.backward_with(&y, upload(&dy, &ys)).unwrap();
        let (want_dx, want_dw, _) = reference::conv2d_backward(&x, &wt, &dy, &p);
        let dx = grads.get(&xp).unwrap().to_vec_f32().unwrap();
        assert_close(&dx, &want_dx, Tol::BACKWARD, &format!("dx {ctx}"));
        let dw = grads.get(&wp).unwrap().to_vec_f32().unwrap();
        assert_close(&dw, &want_dw, Tol::BACKWARD, &format!("dw {ctx}"));
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn fused_residual_batch_norm_matches_the_unfused_ops() {
    // bn(x) + r (MobileNetV2) and relu(bn(x) + r) (ResNet) in training mode: the
    // output, the running statistics and every gradient (x, r, gamma, beta) against
    // batch norm followed by add / add_relu, on an odd shape (12 values per plane).
    use shadernet_nn::{layers::BatchNorm2d, Param};
    let mut rng = shadernet_reference::rng::Rng::new(7);
    let shape = [3, 5, 3, 4];
    let len: usize = shape.iter().product();
    let mut data =
        |len: usize| -> Vec<f32> { rng.vec_normal(len).into_iter().map(|v| v as f32).collect() };
    let (xs, rs, dys, gs, bs) = (data(len), data(len), data(len), data(5), data(5));
    let t = |v: &[f32], s: &[usize]| Tensor::from_f32(device(), v, s).unwrap();
    for relu in [false, true] {
        let run = |fused: bool| {
            let bn = BatchNorm2d::new(device(), 5).unwrap();
            bn.weight.tensor().write_f32(&gs).unwrap();
            bn.bias.tensor().write_f32(&bs).unwrap();
            let (x, r) = (Param::new(t(&xs, &shape)), Param::new(t(&rs, &shape)));
            let tape = Tape::training();
            let (xv, rv) = (tape.param(&x), tape.param(&r));
            let y = match (fused, relu) {
                (true, true) => f::batch_norm_residual(&tape, &xv, &rv, &bn, true),
                (true, false) => bn.forward_add(&tape, &xv, &rv),
                (false, true) => f::add_relu(&tape, &bn.forward(&tape, &xv).unwrap(), &rv),
                (false, false) => f::add(&tape, &bn.forward(&tape, &xv).unwrap(), &rv),
            }
            .unwrap();
            let grads = tape.backward_with(&y, t(&dys, &shape)).unwrap();
            let mut out = vec![y.tensor().to_vec_f32().unwrap()];
            for p in [&x, &r, &bn.weight, &bn.bias] {
                out.push(grads.get(p).expect("a gradient").to_vec_f32().unwrap());
            }
            out.push(bn.running_mean.to_vec_f32().unwrap());
            out.push(bn.running_var.to_vec_f32().unwrap());
            out
        };
        let (fused, plain) = (run(true), run(false));
        let what = [
            "y",
            "dx",
            "dr",
            "dgamma",
            "dbeta",
            "running_mean",
            "running_var",
        ];
        for ((a, b), name) in fused.iter().zip(&plain).zip(what) {
            for (i, (u, v)) in a.iter().zip(b).enumerate() {
                assert!(
                    (u - v).abs() <= 1e-6 * (1.0 + v.abs()),
                    "relu={relu} {name}[{i}]: fused {u} vs unfused {v}"
                );
            }
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn sequential_fuses_batch_norm_and_activation_exactly() {
    // [BatchNorm2d, ReLU | ReLU6] in a Sequential runs as one fused op; its output,
    // running statistics and gradients (x, gamma, beta) equal batch norm then the
    // activation as separate ops, in training and in eval mode.
    use shadernet_nn::layers::{BatchNorm2d, Layer, Sequential};
    use shadernet_nn::Param;
    let mut rng = shadernet_reference::rng::Rng::new(8);
    let shape = [2, 3, 5, 4];
    let len: usize = shape.iter().product();
    let mut data = |len: usize, scale: f64, shift: f64| -> Vec<f32> {
        rng.vec_normal(len)
            .into_iter()
            .map(|v| (v * scale + shift) as f32)
            .collect()
    };
    // gamma about 2 and beta about 3: outputs on both sides of 0 and of 6.
    let (xs, dys, gs, bs) = (
        data(len, 1.0, 0.0),
        data(len, 1.0, 0.0),
        data(3, 0.3, 2.0),
        data(3, 1.0, 3.0),
    );
    let t = |v: &[f32], s: &[usize]| Tensor::from_f32(device(), v, s).unwrap();
    for act in [Layer::Relu, Layer::Relu6] {
        for training in [true, false] {
            let run = |fused: bool| {
                let bn = BatchNorm2d::new(device(), 3).unwrap();
                bn.weight.tensor().write_f32(&gs).unwrap();
                bn.bias.tensor().write_f32(&bs).unwrap();
                let (weight, bias) = (bn.weight.clone(), bn.bias.clone());
                let (rm, rv) = (bn.running_mean.clone(), bn.running_var.clone());
                let x = Param::new(t(&xs, &shape));
                let tape = if training {
                    Tape::training()
                } else {
                    Tape::inference()
                };
                let xv = tape.param(&x);
                let y = if fused {
                    Sequential::new().push(bn).push(act).forward(&tape, &xv)
                } else {
                    let h = f::batch_norm(&tape, &xv, &bn).unwrap();
                    act.forward(&tape, &h)
                }
                .unwrap();
                let mut out = vec![
                    y.tensor().to_vec_f32().unwrap(),
                    rm.to_vec_f32().unwrap(),
                    rv.to_vec_f32().unwrap(),
                ];
                if training {
                    // The fused run records one op (batch norm with its activation).
                    let ops: Vec<&str> = tape
                        .listing()
                        .iter()
                        .map(|n| n.name)
                        .filter(|&n| n != "param")
                        .collect();
                    let want: &[&str] = match (fused, act) {
                        (true, Layer::Relu) => &["batch_norm_relu"],
                        (true, _) => &["batch_norm_relu6"],
                        (false, Layer::Relu) => &["batch_norm", "relu"],
                        (false, _) => &["batch_norm", "relu6"],
                    };
                    assert_eq!(ops, want, "{act:?} fused={fused}");
                    let grads = tape.backward_with(&y, t(&dys, &shape)).unwrap();
                    for p in [&x, &weight, &bias] {
                        out.push(grads.get(p).expect("a gradient").to_vec_f32().unwrap());
                    }
                }
                out
            };
            let (fused, plain) = (run(true), run(false));
            let what = ["y", "running_mean", "running_var", "dx", "dgamma", "dbeta"];
            assert_eq!(fused.len(), plain.len());
            for ((a, b), name) in fused.iter().zip(&plain).zip(what) {
                for (i, (u, v)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (u - v).abs() <= 1e-6 * (1.0 + v.abs()),
                        "{act:?} training={training} {name}[{i}]: fused {u} vs unfused {v}"
                    );
                }
            }
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn conv_bn_fused_backward_matches_the_separate_ops() {
    // conv -> batch norm -> (ReLU | ReLU6 | residual add + ReLU | nothing) as one tape op,
    // whose backward writes batch norm's dx straight into the convolution's padded dY
    // layout where it can (3x3 stride 1 and 2, 1x1; channels and widths multiples of
    // 4), and falls back to NCHW where it cannot (5 channels, width 6): the output,
    // running statistics and the gradients of x, w, gamma, beta (and the residual)
    // equal the separate ops'.
    use shadernet_nn::functional::BnTail;
    use shadernet_nn::layers::{BatchNorm2d, Conv2d};
    use shadernet_nn::Param;
    use shadernet_tensor::ops::conv2d::{conv2d_dy_layout, Activation, Conv2dConfig};
    let mut rng = shadernet_reference::rng::Rng::new(9);
    let mut data =
        |len: usize| -> Vec<f32> { rng.vec_normal(len).into_iter().map(|v| v as f32).collect() };
    // (n, c_in, h, w, c_out, k, stride, padded path expected)
    // (The padded path also needs dW's channel blocks to match dX's: 16 or 32
    // output channels, or a multiple of 64.)
    let cases = [
        (2, 4, 8, 8, 16, 3, 1, true),
        (1, 4, 4, 16, 16, 3, 1, true),
        (2, 8, 8, 8, 32, 3, 2, true),
        (2, 8, 4, 8, 16, 1, 1, true),
        (2, 3, 6, 6, 5, 3, 1, false),
        (2, 4, 6, 6, 16, 3, 1, false),
    ];
    for (n, c, h, w, k, r, stride, padded) in cases {
        let cfg = Conv2dConfig::new(stride, r / 2);
        let (ho, wo) = (
            (h + 2 * (r / 2) - r) / stride + 1,
            (w + 2 * (r / 2) - r) / stride + 1,
        );
        let layout = conv2d_dy_layout(device(), [n, c, h, w], [k, c, r, r], &cfg).unwrap();
        let fits = layout.is_some() && k % 4 == 0 && wo % 4 == 0;
        assert_eq!(fits, padded, "case {:?}", (n, c, h, w, k, r, stride));
        let (xs, ws, rs, dys) = (
            data(n * c * h * w),
            data(k * c * r * r),
            data(n * k * ho * wo),
            data(n * k * ho * wo),
        );
        let (gs, bs) = (data(k), data(k));
        let t = |v: &[f32], s: &[usize]| Tensor::from_f32(device(), v, s).unwrap();
        for tail in 0..4 {
            let run = |fused: bool| {
                let conv = Conv2d {
                    weight: Param::new(t(&ws, &[k, c, r, r])),
                    bias: None,
                    config: cfg,
                };
                let bn = BatchNorm2d::new(device(), k).unwrap();
                bn.weight.tensor().write_f32(&gs).unwrap();
                bn.bias.tensor().write_f32(&bs).unwrap();
                let (x, res) = (
                    Param::new(t(&xs, &[n, c, h, w])),
                    Param::new(t(&rs, &[n, k, ho, wo])),
                );
                let tape = Tape::training();
                let (xv, rv) = (tape.param(&x), tape.param(&res));
                let bt = match tail {
                    0 => BnTail::Act(Activation::Relu),
                    1 => BnTail::Act(Activation::Relu6),
                    2 => BnTail::Act(Activation::None),
                    _ => BnTail::Residual {
                        residual: &rv,
                        relu: true,
                    },
                };
                if let (true, Some(l)) = (fused, layout) {
                    // A dirty pooled buffer of the padded dY's size: its padding must be
                    // zeroed.
                    drop(t(&vec![f32::NAN; l.floats()], &[l.floats()]));
                }
                let y = if fused {
                    f::conv_bn(&tape, &xv, &conv, &bn, bt)
                } else {
                    let z = conv.forward(&tape, &xv).unwrap();
                    match bt {
                        BnTail::Act(a) => f::batch_norm_act(&tape, &z, &bn, a),
                        BnTail::Residual { residual, relu } => {
                            f::batch_norm_residual(&tape, &z, residual, &bn, relu)
                        }
                    }
                }
                .unwrap();
                let grads = tape.backward_with(&y, t(&dys, &[n, k, ho, wo])).unwrap();
                let mut out = vec![
                    y.tensor().to_vec_f32().unwrap(),
                    bn.running_mean.to_vec_f32().unwrap(),
                    bn.running_var.to_vec_f32().unwrap(),
                ];
                for p in [&x, &conv.weight, &bn.weight, &bn.bias] {
                    out.push(grads.get(p).expect("a gradient").to_vec_f32().unwrap());
                }
                if tail == 3 {
                    out.push(grads.get(&res).expect("a gradient").to_vec_f32().unwrap());
                }
                out
            };
            let (fused, plain) = (run(true), run(false));
            let what = [
                "y",
                "running_mean",
                "running_var",
                "dx",
                "dw",
                "dgamma",
                "dbeta",
                "dres",
            ];
            for ((a, b), name) in fused.iter().zip(&plain).zip(what) {
                assert_eq!(a.len(), b.len(), "{name}");
                for (i, (u, v)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                        "case {:?} tail {tail} {name}[{i}]: fused {u} vs separate {v}",
                        (n, c, h, w, k, r, stride)
                    );
                }
            }
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn conv_bn_pair_matches_the_separate_ops() {
    // conv1 -> bn1 -> ReLU -> conv2 -> bn2 -> tail as one tape op, the first batch
    // norm writing conv2's padded input directly (3x3 stride 1 and 2 first layers, a
    // 1x1 second layer); with a width of 6 the first batch norm cannot (the two
    // conv_bn ops run instead). Tails: none, residual add + ReLU with a residual of
    // its own, and with x itself as the residual (an identity shortcut, whose two
    // gradients meet in conv1's dX; x is used again after the op, so a third is
    // pending). Output, running statistics and every gradient equal the separate ops';
    // the tape holds the one pair op where it applies.
    use shadernet_nn::functional::BnTail;
    use shadernet_nn::layers::{BatchNorm2d, Conv2d};
    use shadernet_nn::Param;
    use shadernet_tensor::ops::conv2d::{conv2d_input_layout, Activation, Conv2dConfig};
    let mut rng = shadernet_reference::rng::Rng::new(21);
    let mut data =
        |len: usize| -> Vec<f32> { rng.vec_normal(len).into_iter().map(|v| v as f32).collect() };
    // (n, c, h, w, k1, r1, stride1, k2, r2, pair op expected)
    let cases = [
        (2, 16, 8, 8, 16, 3, 1, 16, 3, true),
        (2, 8, 8, 16, 16, 3, 2, 32, 3, true),
        (2, 8, 8, 8, 16, 1, 1, 8, 1, true),
        (2, 4, 6, 6, 8, 3, 1, 4, 3, false),
    ];
    for (n, c, h, w, k1, r1, s1, k2, r2, pair) in cases {
        let (cfg1, cfg2) = (Conv2dConfig::new(s1, r1 / 2), Conv2dConfig::new(1, r2 / 2));
        let (ho, wo) = (
            (h + 2 * (r1 / 2) - r1) / s1 + 1,
            (w + 2 * (r1 / 2) - r1) / s1 + 1,
        );
        // conv2 reads a padded input in every case: where the pair op is not taken, it
        // is batch norm that cannot write it (after conv1 ran).
        let layout = conv2d_input_layout(device(), [n, k1, ho, wo], [k2, k1, r2, r2], &cfg2);
        assert!(layout.unwrap().is_some(), "case {:?}", (n, c, h, w));
        let (xs, w1s, w2s, rs, dys) = (
            data(n * c * h * w),
            data(k1 * c * r1 * r1),
            data(k2 * k1 * r2 * r2),
            data(n * k2 * ho * wo),
            data(n * k2 * ho * wo),
        );
        let (g1, b1, g2, b2) = (data(k1), data(k1), data(k2), data(k2));
        let t = |v: &[f32], s: &[usize]| Tensor::from_f32(device(), v, s).unwrap();
        // x itself can be the residual where the pair keeps its shape.
        let identity = k2 == c && s1 == 1;
        for tail in 0..if identity { 3 } else { 2 } {
            let run = |fused: bool| {
                let conv = |ws: &[f32], k: usize, ci: usize, r: usize, cfg| Conv2d {
                    weight: Param::new(t(ws, &[k, ci, r, r])),
                    bias: None,
                    config: cfg,
                };
                let (conv1, conv2) = (conv(&w1s, k1, c, r1, cfg1), conv(&w2s, k2, k1, r2, cfg2));
                let bn = |k: usize, g: &[f32], b: &[f32]| {
                    let bn = BatchNorm2d::new(device(), k).unwrap();
                    bn.weight.tensor().write_f32(g).unwrap();
                    bn.bias.tensor().write_f32(b).unwrap();
                    bn
                };
                let (bn1, bn2) = (bn(k1, &g1, &b1), bn(k2, &g2, &b2));
                let x = Param::new(t(&xs, &[n, c, h, w]));
                let res = Param::new(t(&rs, &[n, k2, ho, wo]));
                let tape = Tape::training();
                let (xv, rv) = (tape.param(&x), tape.param(&res));
                let bt = match tail {
                    0 => BnTail::Act(Activation::None),
                    1 => BnTail::Residual {
                        residual: &rv,
                        relu: true,
                    },
                    _ => BnTail::Residual {
                        residual: &xv,
                        relu: true,
                    },
                };
                let y = if fused {
                    let y = f::conv_bn_act_conv_bn(
                        &tape,
                        &xv,
                        (&conv1, &bn1, Activation::Relu),
                        (&conv2, &bn2),
                        bt,
                    )
                    .unwrap();
                    let ops: Vec<&str> = tape
                        .listing()
                        .iter()
                        .map(|n| n.name)
                        .filter(|&n| n != "param")
                        .collect();
                    let want: &[&str] = if pair {
                        &["conv2d_batch_norm_x2"]
                    } else {
                        &["conv2d_batch_norm", "conv2d_batch_norm"]
                    };
                    assert_eq!(ops, want, "case {:?}", (n, c, h, w, k1, r1, s1, k2, r2));
                    y
                } else {
                    let z = conv1.forward(&tape, &xv).unwrap();
                    let hv = f::batch_norm_act(&tape, &z, &bn1, Activation::Relu).unwrap();
                    let z = conv2.forward(&tape, &hv).unwrap();
                    match bt {
                        BnTail::Act(a) => f::batch_norm_act(&tape, &z, &bn2, a),
                        BnTail::Residual { residual, relu } => {
                            f::batch_norm_residual(&tape, &z, residual, &bn2, relu)
                        }
                    }
                    .unwrap()
                };
                // With x as the residual, x is used once more after the op: its gradient
                // is pending when the pair's backward runs, beside the shortcut's.
                let y = if tail == 2 {
                    f::add(&tape, &y, &xv).unwrap()
                } else {
                    y
                };
                let grads = tape.backward_with(&y, t(&dys, &[n, k2, ho, wo])).unwrap();
                let mut out = vec![y.tensor().to_vec_f32().unwrap()];
                for b in [&bn1, &bn2] {
                    out.push(b.running_mean.to_vec_f32().unwrap());
                    out.push(b.running_var.to_vec_f32().unwrap());
                }
                let params = [
                    &x,
                    &conv1.weight,
                    &bn1.weight,
                    &bn1.bias,
                    &conv2.weight,
                    &bn2.weight,
                    &bn2.bias,
                ];
                for p in params {
                    out.push(grads.get(p).expect("a gradient").to_vec_f32().unwrap());
                }
                if tail == 1 {
                    out.push(grads.get(&res).expect("a gradient").to_vec_f32().unwrap());
                }
                out
            };
            let (fused, plain) = (run(true), run(false));
            let what = [
                "y", "mean1", "var1", "mean2", "var2", "dx", "dw1", "dgamma1", "dbeta1", "dw2",
                "dgamma2", "dbeta2", "dres",
            ];
            assert_eq!(fused.len(), plain.len());
            for ((a, b), name) in fused.iter().zip(&plain).zip(what) {
                assert_eq!(a.len(), b.len(), "{name}");
                for (i, (u, v)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                        "case {:?} tail {tail} {name}[{i}]: fused {u} vs separate {v}",
                        (n, c, h, w, k1, r1, s1, k2, r2)
                    );
                }
            }
        }
    }
}
