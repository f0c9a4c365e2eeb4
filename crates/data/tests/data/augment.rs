use shadernet_data::{Augment, CropFlip, SplitMix64};

/// A 1x32x32 image whose pixel (y, x) is 1 + (y * 32 + x) % 200 (never 0).
fn image32() -> Vec<u8> {
    (0..32 * 32).map(|i| 1 + (i % 200) as u8).collect()
}

fn px(img: &[u8], y: usize, x: usize) -> u8 {
    img[y * 32 + x]
}

fn cf(top: usize, left: usize, flip: bool) -> CropFlip {
    CropFlip {
        padding: 4,
        top,
        left,
        flip,
    }
}

#[test]
fn centered_crop_is_identity() {
    let img = image32();
    assert_eq!(cf(4, 4, false).apply(&img, [1, 32, 32]).unwrap(), img);
}

#[test]
fn flip_reverses_rows() {
    let img = image32();
    let out = cf(4, 4, true).apply(&img, [1, 32, 32]).unwrap();
    for y in 0..32 {
        let mut row = img[y * 32..(y + 1) * 32].to_vec();
        row.reverse();
        assert_eq!(&out[y * 32..(y + 1) * 32], &row[..]);
    }
}

#[test]
fn crop_at_origin_shows_four_rows_and_columns_of_zeros() {
    let img = image32();
    let out = cf(0, 0, false).apply(&img, [1, 32, 32]).unwrap();
    for y in 0..32 {
        for x in 0..32 {
            let want = if y < 4 || x < 4 {
                0
            } else {
                px(&img, y - 4, x - 4)
            };
            assert_eq!(px(&out, y, x), want, "({y}, {x})");
        }
    }
}

#[test]
fn crop_at_far_corner() {
    let img = image32();
    let out = cf(8, 8, false).apply(&img, [1, 32, 32]).unwrap();
    for y in 0..32 {
        for x in 0..32 {
            let want = if y >= 28 || x >= 28 {
                0
            } else {
                px(&img, y + 4, x + 4)
            };
            assert_eq!(px(&out, y, x), want, "({y}, {x})");
        }
    }
}

#[test]
fn crop_then_flip_on_a_tiny_image() {
    // 2 channels of 3x3, padding 1; crop at (0, 2) then flip.
    let img: Vec<u8> = (1..=18).collect();
    let c = CropFlip {
        padding: 1,
        top: 0,
        left: 2,
        flip: true,
    };
    let out = c.apply(&img, [2, 3, 3]).unwrap();
    // Padded channel 0 (5x5), crop rows 0..3, cols 2..5:
    //   0 0 0 / 2 3 0 / 5 6 0 ; flipped: 0 0 0 / 0 3 2 / 0 6 5
    assert_eq!(&out[..9], &[0, 0, 0, 0, 3, 2, 0, 6, 5]);
    assert_eq!(&out[9..], &[0, 0, 0, 0, 12, 11, 0, 15, 14]);
}

#[test]
fn rejects_bad_sizes_and_offsets() {
    let img = image32();
    assert!(cf(4, 4, false).apply(&img, [3, 32, 32]).is_err());
    assert!(cf(9, 0, false).apply(&img, [1, 32, 32]).is_err());
}

#[test]
fn sampling_covers_offsets_and_flips_half() {
    let mut rng = SplitMix64::new(11);
    let mut tops = [0usize; 9];
    let mut lefts = [0usize; 9];
    let mut flips = 0;
    for _ in 0..9000 {
        let c = Augment::CIFAR10.sample(&mut rng);
        assert_eq!(c.padding, 4);
        tops[c.top] += 1;
        lefts[c.left] += 1;
        flips += usize::from(c.flip);
    }
    assert!(
        tops.iter().chain(&lefts).all(|&n| n > 800),
        "{tops:?} {lefts:?}"
    );
    assert!((4200..4800).contains(&flips), "{flips}");
    let no_flip = Augment {
        padding: 0,
        hflip: false,
    };
    let c = no_flip.sample(&mut rng);
    assert_eq!((c.top, c.left, c.flip), (0, 0, false));
}
