//! Builders of small data files.

use std::io::Write;
use std::path::Path;

use shadernet_data::cifar10::{TEST_FILE, TRAIN_FILES};

/// Pixel `(c, y, x)` of synthetic CIFAR image `k`: distinct per plane, row
/// and column, so any transposition or plane swap shows.
pub fn cifar_pixel(k: usize, c: usize, y: usize, x: usize) -> u8 {
    ((k * 37 + c * 101 + y * 7 + x * 3) % 251) as u8
}

/// One 3,073-byte record of image `k` with `label`.
pub fn cifar_record(label: u8, k: usize) -> Vec<u8> {
    let mut r = vec![label];
    for c in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                r.push(cifar_pixel(k, c, y, x));
            }
        }
    }
    r
}

/// The label of synthetic image `k`.
pub fn cifar_label(k: usize) -> u8 {
    (k * 3 % 10) as u8
}

/// Writes all six batch files into `dir` with `per_file` records each;
/// train file `f` holds images `f*per_file..`, test images `5*per_file..`.
pub fn write_cifar(dir: &Path, per_file: usize, meta: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    for (f, name) in TRAIN_FILES.iter().chain([&TEST_FILE]).enumerate() {
        let mut bytes = Vec::new();
        for i in 0..per_file {
            let k = f * per_file + i;
            bytes.extend(cifar_record(cifar_label(k), k));
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    if let Some(m) = meta {
        std::fs::write(dir.join("batches.meta.txt"), m).unwrap();
    }
}

/// An IDX file of u8: big-endian magic and dims, then `data`.
pub fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// Gzip of `bytes`.
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Pixel `(y, x)` of synthetic IDX image `k` (rows x cols).
pub fn idx_pixel(k: usize, y: usize, x: usize) -> u8 {
    ((k * 29 + y * 11 + x) % 256) as u8
}

/// Writes an IDX split (`prefix` "train" or "t10k") of `n` images of
/// `rows` x `cols` with labels `k % 10`, gzipped or not.
pub fn write_idx(dir: &Path, prefix: &str, n: usize, rows: usize, cols: usize, gzip: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut pixels = Vec::new();
    for k in 0..n {
        for y in 0..rows {
            for x in 0..cols {
                pixels.push(idx_pixel(k, y, x));
            }
        }
    }
    let labels: Vec<u8> = (0..n).map(|k| (k % 10) as u8).collect();
    let images = idx(0x803, &[n as u32, rows as u32, cols as u32], &pixels);
    let labels = idx(0x801, &[n as u32], &labels);
    let (ext, images, labels) = if gzip {
        (".gz", gz(&images), gz(&labels))
    } else {
        ("", images, labels)
    };
    std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte{ext}")), images).unwrap();
    std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")), labels).unwrap();
}

/// Names of the entries of `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
