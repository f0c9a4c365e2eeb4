use std::time::{Duration, Instant};

use shadernet_data::{Batch, Loader, Prefetcher};

use crate::loader::{config, synthetic};

#[test]
fn yields_the_same_batches_as_the_iterator() {
    let loader = Loader::new(synthetic(50), config(8, true, true, 3)).unwrap();
    let plain: Vec<Batch> = loader.epoch(1).collect();
    let mut p = loader.prefetch(1, 0).unwrap();
    assert_eq!(p.size_hint(), (7, Some(7)));
    let fetched: Vec<Batch> = p.by_ref().collect();
    assert_eq!(fetched, plain);
    let s = p.stats();
    assert_eq!((s.produced, s.consumed), (7, 7));
    assert!(p.next().is_none());

    let resumed: Vec<Batch> = loader.prefetch(1, 4).unwrap().collect();
    assert_eq!(resumed, plain[4..].to_vec());
}

#[test]
fn drops_cleanly_mid_epoch() {
    let loader = Loader::new(synthetic(2000), config(4, true, true, 0)).unwrap();
    let mut p = loader.prefetch(0, 0).unwrap();
    let first = p.next().unwrap();
    assert_eq!(first, loader.batch(0, 0).unwrap());
    std::thread::sleep(Duration::from_millis(50));
    // Bounded queue: the worker is at most depth + 1 batches ahead.
    let s = p.stats();
    assert!(s.produced <= 1 + 3, "{s:?}");
    let t = Instant::now();
    drop(p);
    assert!(t.elapsed() < Duration::from_secs(5));
}

#[test]
fn counts_the_time_spent_waiting() {
    let slow = (0..3).map(|i| {
        std::thread::sleep(Duration::from_millis(30));
        Batch {
            images: vec![i as f32],
            labels: vec![0],
            n: 1,
            shape: [1, 1, 1, 1],
            epoch: 0,
            index: i,
            indices: vec![i],
        }
    });
    let mut p = Prefetcher::new(slow, 2).unwrap();
    let got: Vec<usize> = p.by_ref().map(|b| b.index).collect();
    assert_eq!(got, vec![0, 1, 2]);
    let s = p.stats();
    assert!(s.stalls >= 1, "{s:?}");
    assert!(s.wait >= Duration::from_millis(50), "{s:?}");
}
