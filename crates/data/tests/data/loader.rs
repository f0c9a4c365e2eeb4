use shadernet_data::{
    Augment, Batch, DataError, Dataset, Images, Loader, LoaderConfig, Normalization,
};

/// `n` 3x32x32 images; image k's pixels are all `k % 200 + 1` but for
/// pixel (c, y, x) offset by a position pattern.
pub fn synthetic(n: usize) -> Dataset {
    let mut images = Vec::new();
    for k in 0..n {
        for c in 0..3 {
            for y in 0..32 {
                for x in 0..32 {
                    images.push(((k * 13 + c * 50 + y * 5 + x) % 255 + 1) as u8);
                }
            }
        }
    }
    Dataset {
        name: "synthetic".into(),
        classes: (0..10).map(|i| i.to_string()).collect(),
        images: Images::U8(images),
        labels: (0..n as u32).map(|k| k % 10).collect(),
        shape: [3, 32, 32],
        normalization: Some(Normalization::cifar10()),
    }
}

pub fn config(batch: usize, shuffle: bool, augment: bool, seed: u64) -> LoaderConfig {
    LoaderConfig {
        batch,
        shuffle,
        augment: augment.then_some(Augment::CIFAR10),
        seed,
        drop_last: false,
    }
}

fn all(loader: &Loader, epoch: usize) -> Vec<Batch> {
    loader.epoch(epoch).collect()
}

#[test]
fn plain_batches_are_the_normalized_images() {
    let ds = synthetic(10);
    let norm = Normalization::cifar10();
    let loader = Loader::new(ds.clone(), config(4, false, false, 0)).unwrap();
    let batches = all(&loader, 0);
    assert_eq!(batches.len(), 3);
    assert_eq!(loader.batches_per_epoch(), 3);
    for (b, batch) in batches.iter().enumerate() {
        assert_eq!(batch.index, b);
        assert_eq!(batch.epoch, 0);
        for (i, &k) in batch.indices.iter().enumerate() {
            assert_eq!(k, b * 4 + i);
            assert_eq!(batch.labels[i], ds.labels[k]);
            let img = ds.image_u8(k).unwrap();
            let mut want = vec![0f32; 3072];
            norm.normalize_into(img, 1024, &mut want).unwrap();
            assert_eq!(&batch.images[i * 3072..(i + 1) * 3072], &want[..]);
        }
    }
}

#[test]
fn last_partial_batch_is_present_unless_dropped() {
    let loader = Loader::new(synthetic(10), config(4, true, true, 0)).unwrap();
    let sizes: Vec<usize> = loader.epoch(0).map(|b| b.n).collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    let last = loader.epoch(0).last().unwrap();
    assert_eq!(last.shape, [2, 3, 32, 32]);
    assert_eq!(last.images.len(), 2 * 3072);
    assert_eq!(last.labels.len(), 2);
    assert_eq!(loader.epoch(0).len(), 3);

    let mut cfg = config(4, true, true, 0);
    cfg.drop_last = true;
    let loader = Loader::new(synthetic(10), cfg).unwrap();
    assert_eq!(loader.epoch(0).map(|b| b.n).collect::<Vec<_>>(), vec![4, 4]);
    assert_eq!(loader.batches_per_epoch(), 2);

    // A batch larger than the data set: one partial batch.
    let loader = Loader::new(synthetic(3), config(128, true, false, 0)).unwrap();
    assert_eq!(loader.epoch(0).map(|b| b.n).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn every_epoch_visits_every_image_once() {
    let loader = Loader::new(synthetic(37), config(8, true, true, 5)).unwrap();
    for epoch in 0..3 {
        let mut seen: Vec<usize> = loader.epoch(epoch).flat_map(|b| b.indices).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..37).collect::<Vec<_>>());
    }
}

#[test]
fn deterministic_in_seed_and_epoch() {
    let a = Loader::new(synthetic(40), config(8, true, true, 42)).unwrap();
    let b = Loader::new(synthetic(40), config(8, true, true, 42)).unwrap();
    assert_eq!(all(&a, 0), all(&b, 0));
    assert_eq!(all(&a, 7), all(&b, 7));
    assert_ne!(a.order(0), a.order(1), "different epoch, different order");
    let c = Loader::new(synthetic(40), config(8, true, true, 43)).unwrap();
    assert_ne!(a.order(0), c.order(0), "different seed, different order");
    assert_ne!(all(&a, 0)[0].images, all(&c, 0)[0].images);
    // Without shuffling: the data set's order, every epoch.
    let d = Loader::new(synthetic(40), config(8, false, true, 42)).unwrap();
    assert_eq!(d.order(3), (0..40).collect::<Vec<_>>());
    // Augmentation differs between epochs even in the same order.
    assert_ne!(all(&d, 0)[0].images, all(&d, 1)[0].images);
}

#[test]
fn resume_equals_skipping() {
    let loader = Loader::new(synthetic(45), config(8, true, true, 9)).unwrap();
    let full = all(&loader, 2);
    assert_eq!(full.len(), 6);
    for k in 0..=full.len() + 1 {
        let resumed: Vec<Batch> = loader.epoch_from(2, k).collect();
        let skipped: Vec<Batch> = loader.epoch(2).skip(k).collect();
        assert_eq!(resumed, skipped, "start batch {k}");
        assert_eq!(resumed.len(), full.len().saturating_sub(k));
        if k < full.len() {
            assert_eq!(loader.batch(2, k).as_ref(), Some(&full[k]));
        }
    }
    assert_eq!(loader.batch(2, full.len()), None);
    // nth() on the iterator agrees too.
    assert_eq!(loader.epoch(2).nth(3).as_ref(), Some(&full[3]));
}

#[test]
fn augmented_images_are_crops_padded_with_black() {
    // One all-white image: each augmented channel must be a white
    // (32-|dy|) x (32-|dx|) rectangle, the rest normalized black.
    let ds = Dataset {
        name: "white".into(),
        classes: vec!["x".into()],
        images: Images::U8(vec![255; 3 * 1024]),
        labels: vec![0],
        shape: [3, 32, 32],
        normalization: Some(Normalization::cifar10()),
    };
    let norm = Normalization::cifar10();
    let loader = Loader::new(ds, config(1, false, true, 1)).unwrap();
    let mut shapes = std::collections::HashSet::new();
    for epoch in 0..64 {
        let b = loader.batch(epoch, 0).unwrap();
        let mut zeros_per_channel = Vec::new();
        for c in 0..3 {
            let plane = &b.images[c * 1024..(c + 1) * 1024];
            let zeros = plane.iter().filter(|&&v| v == norm.apply(c, 0)).count();
            let whites = plane.iter().filter(|&&v| v == norm.apply(c, 255)).count();
            assert_eq!(zeros + whites, 1024);
            zeros_per_channel.push(zeros);
        }
        assert!(zeros_per_channel.iter().all(|&z| z == zeros_per_channel[0]));
        let z = zeros_per_channel[0];
        let ok = (0..=4).any(|dy| (0..=4).any(|dx| 1024 - (32 - dy) * (32 - dx) == z));
        assert!(ok, "{z} black pixels is no crop of a padded image");
        shapes.insert(z);
    }
    assert!(shapes.len() > 5, "crops vary: {shapes:?}");
}

#[test]
fn config_errors() {
    let e = Loader::new(synthetic(3), config(0, true, false, 0)).unwrap_err();
    assert!(matches!(e, DataError::Config(_)), "{e}");
    let e = Loader::new(synthetic(3), config(2, true, false, 0))
        .unwrap()
        .with_normalization(Normalization::mnist())
        .unwrap_err();
    assert!(e.to_string().contains("1 channels"), "{e}");
    let mut bad = synthetic(3);
    bad.labels.push(0);
    assert!(Loader::new(bad, config(2, true, false, 0)).is_err());
}

#[test]
fn custom_normalization() {
    let ds = synthetic(2);
    let loader = Loader::new(ds.clone(), config(2, false, false, 0))
        .unwrap()
        .with_normalization(Normalization::identity(3))
        .unwrap();
    let b = loader.batch(0, 0).unwrap();
    assert_eq!(b.images[5], f32::from(ds.image_u8(0).unwrap()[5]) / 255.0);
}
