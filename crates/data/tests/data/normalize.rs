use shadernet_data::normalize::*;
use shadernet_data::{DataError, Normalization};

#[test]
fn constants() {
    assert_eq!(Normalization::cifar10().mean, vec![0.4914, 0.4822, 0.4465]);
    assert_eq!(Normalization::cifar10().std, vec![0.2470, 0.2435, 0.2616]);
    assert_eq!(Normalization::fashion_mnist().mean, vec![0.2860]);
    assert_eq!(Normalization::fashion_mnist().std, vec![0.3530]);
    assert_eq!(Normalization::mnist().mean, vec![0.1307]);
    assert_eq!(Normalization::mnist().std, vec![0.3081]);
    assert_eq!(Normalization::imagenet().mean, IMAGENET_MEAN.to_vec());
    assert_eq!(Normalization::imagenet().std, vec![0.229, 0.224, 0.225]);
    assert_eq!(Normalization::imagenet().channels(), 3);
}

#[test]
fn values() {
    let n = Normalization::cifar10();
    // Scaled to [0, 1] first, then per channel.
    assert_eq!(n.apply(0, 0), (0.0 - 0.4914) / 0.2470);
    assert_eq!(n.apply(0, 255), (1.0 - 0.4914) / 0.2470);
    assert_eq!(n.apply(2, 128), (128.0 / 255.0 - 0.4465) / 0.2616);
    assert!((n.apply(1, 255) - 2.1265).abs() < 1e-3);
    let m = Normalization::mnist();
    assert!((m.apply(0, 0) + 0.4242).abs() < 1e-4);
    assert!((m.apply(0, 255) - 2.8215).abs() < 1e-4);

    let table = n.table();
    assert_eq!(table.len(), 3 * 256);
    for c in 0..3 {
        for p in 0..=255u8 {
            assert_eq!(table[c * 256 + usize::from(p)], n.apply(c, p));
        }
    }

    let img = [0u8, 255, 10, 20, 30, 40];
    let mut out = [0f32; 6];
    n.normalize_into(&img, 2, &mut out).unwrap();
    assert_eq!(out[1], n.apply(0, 255));
    assert_eq!(out[2], n.apply(1, 10));
    assert_eq!(out[5], n.apply(2, 40));
    assert!(n.normalize_into(&img, 3, &mut out).is_err());
}

#[test]
fn new_validates() {
    assert!(Normalization::new(vec![0.5], vec![0.5]).is_ok());
    let e = Normalization::new(vec![0.5, 0.5], vec![0.5]).unwrap_err();
    assert!(matches!(e, DataError::Config(_)), "{e}");
    assert!(Normalization::new(vec![0.5], vec![0.0]).is_err());
    assert!(Normalization::new(vec![], vec![]).is_err());
}
