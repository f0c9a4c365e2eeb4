use shadernet_tensor::ops::{elementwise, matmul};
use shadernet_tensor::{DType, Device, Error, Tensor};

use crate::common::device;

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn repeated_workload_reaches_zero_new_allocations() {
    let dev = device();
    let x = Tensor::from_f32(dev, &vec![0.5; 4096], &[64, 64]).unwrap();
    let step = || {
        let y = matmul::matmul(&x, &x, false, true).unwrap();
        let z = elementwise::relu(&elementwise::add(&y, &x).unwrap()).unwrap();
        elementwise::mul_scalar(&z, 0.5).unwrap()
    };
    // Warm up: buffers and pipelines are created here.
    for _ in 0..2 {
        drop(step());
    }
    dev.sync().unwrap();
    // Other tests share the device and may allocate concurrently, so measure
    // a window of our own workload a few times and require one clean window.
    let mut clean = false;
    for _ in 0..5 {
        let before = dev.counters();
        for _ in 0..10 {
            drop(step());
        }
        let delta = dev.counters() - before;
        assert!(delta.dispatches >= 40, "{delta:?}");
        if delta.allocations == 0 && delta.pipeline_compiles == 0 && delta.readbacks == 0 {
            clean = true;
            break;
        }
    }
    assert!(clean, "a repeated workload kept allocating");
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn hundred_small_ops_take_at_most_two_submits() {
    // A device of our own, so other tests' work does not count.
    let dev = Device::new(std::env::var("SHADERNET_DEVICE").ok().as_deref()).unwrap();
    let mut x = Tensor::from_f32(&dev, &[1.0; 1000], &[1000]).unwrap();
    // The device's one-time measurement of how streaming kernels read (a sync and a
    // few dispatches at its first use) is setup, not part of the workload.
    let _ = dev.stream_reads();
    let before = dev.counters();
    for _ in 0..100 {
        x = elementwise::add_scalar(&x, 1.0).unwrap();
    }
    let v = x.to_vec_f32().unwrap();
    let delta = dev.counters() - before;
    assert_eq!(v[999], 101.0);
    assert!(delta.submits <= 2, "{delta:?}");
    assert_eq!(delta.dispatches, 100);
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn tensor_larger_than_one_binding_round_trips() {
    let dev = device();
    let max = dev.max_binding_bytes();
    // A little over one binding (and over 65535 workgroups of 256).
    let numel = (max / 4) as usize + 1000;
    let data: Vec<f32> = (0..numel).map(|i| (i % 1021) as f32).collect();
    let t = Tensor::from_f32(dev, &data, &[numel]).unwrap();
    assert!(t.byte_size() > max);
    let y = elementwise::add_scalar(&t, 1.0).unwrap();
    let back = y.to_vec_f32().unwrap();
    assert_eq!(back.len(), numel);
    for i in [0, 1, numel / 2, numel - 1001, numel - 1000, numel - 1] {
        assert_eq!(back[i], (i % 1021) as f32 + 1.0, "element {i}");
    }
    assert!(back
        .iter()
        .enumerate()
        .all(|(i, &v)| v == (i % 1021) as f32 + 1.0));
    // A same-shaped operand spans windows too.
    let z = elementwise::sub(&y, &t).unwrap().to_vec_f32().unwrap();
    assert!(z.iter().all(|&v| v == 1.0));
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn linear_weight_larger_than_one_binding_is_split() {
    let dev = device();
    let max = dev.max_binding_bytes() as usize;
    let k = 1024;
    let n = max / 4 / k + 37; // rows of a [n, k] weight: just over one binding
    let mut w = vec![0f32; n * k];
    for (j, row) in w.chunks_mut(k).enumerate() {
        row[j % k] = 1.0;
        row[(j * 7) % k] += 0.5;
    }
    let x: Vec<f32> = (0..2 * k).map(|i| (i % 13) as f32).collect();
    let tw = Tensor::from_f32(dev, &w, &[n, k]).unwrap();
    let tx = Tensor::from_f32(dev, &x, &[2, k]).unwrap();
    let y = matmul::matmul(&tx, &tw, false, true)
        .unwrap()
        .to_vec_f32()
        .unwrap();
    for r in 0..2 {
        for j in [0, 1, n / 2, n - 38, n - 37, n - 1] {
            let want = x[r * k + j % k] + 0.5 * x[r * k + (j * 7) % k];
            assert_eq!(y[r * n + j], want, "row {r} col {j}");
        }
    }
}

#[test]
#[cfg_attr(skip_gpu_tests, ignore)]
fn bad_requests_are_typed_errors() {
    let dev = device();
    let limit = dev.limits().max_buffer_size;
    let too_big = (limit / 4 + 1) as usize;
    match Tensor::uninit(dev, &[too_big], DType::F32) {
        Err(Error::Limit {
            requested,
            limit: l,
            ..
        }) => assert!(requested > l),
        other => panic!("expected a limit error, got {other:?}"),
    }
    let err = Tensor::from_f32(dev, &[1.0, 2.0], &[3])
        .unwrap_err()
        .to_string();
    assert!(err.contains("[3]"), "{err}");
    let err = Device::new(Some("999")).unwrap_err().to_string();
    assert!(err.contains("999"), "{err}");
    let err = Device::new(Some("no-such-adapter-name"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-adapter-name"), "{err}");
    let t = Tensor::from_f32(dev, &[1.0; 6], &[2, 3]).unwrap();
    assert!(t.reshape(&[4]).is_err());
    assert!(t.to_vec_u32().is_err());
}
