//! 2-D max / average / adaptive-average pooling with PyTorch's exact rules.
//!
//! Inputs are `[n, c, h, w]`; outputs `[n, c, h_out, w_out]`. Padding is
//! symmetric (`pad_h` rows above and below, `pad_w` columns left and right).
//! Output row `oh` covers input rows `oh*stride_h - pad_h + ky*dilation_h`
//! for `ky in 0..kh` (likewise for columns).

/// Shapes and hyper-parameters of `max_pool2d` / `avg_pool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dParams {
    /// Batch size.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Implicit padding rows on each side (at most `kh / 2`).
    pub pad_h: usize,
    /// Implicit padding columns on each side (at most `kw / 2`).
    pub pad_w: usize,
    /// Vertical dilation (max pooling only; must be 1 for average pooling).
    pub dilation_h: usize,
    /// Horizontal dilation (max pooling only; must be 1 for average pooling).
    pub dilation_w: usize,
    /// Use ceil instead of floor when computing the output size.
    pub ceil_mode: bool,
}

/// PyTorch's `pooling_output_shape`:
/// `out = floor_div(size + 2p - d*(k-1) - 1 + (ceil ? s-1 : 0), s) + 1`, then in
/// ceil mode `out -= 1` if `(out-1)*s >= size + p` (the last window would start
/// in the right padding). Returns 0 for non-positive results or zero params.
fn pool_out(size: usize, k: usize, p: usize, s: usize, d: usize, ceil: bool) -> usize {
    if s == 0 || k == 0 || d == 0 {
        return 0;
    }
    let (size, k, p, s, d) = (size as i64, k as i64, p as i64, s as i64, d as i64);
    let numer = size + 2 * p - d * (k - 1) - 1 + if ceil { s - 1 } else { 0 };
    let mut out = numer.div_euclid(s) + 1; // floor division (s > 0)
    if ceil && (out - 1) * s >= size + p {
        out -= 1;
    }
    out.max(0) as usize
}

impl Pool2dParams {
    /// Square window `k`, stride `stride`, padding `pad`, no dilation, floor mode.
    pub fn new(
        n: usize,
        c: usize,
        h: usize,
        w: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        Pool2dParams {
            n,
            c,
            h,
            w,
            kh: k,
            kw: k,
            stride_h: stride,
            stride_w: stride,
            pad_h: pad,
            pad_w: pad,
            dilation_h: 1,
            dilation_w: 1,
            ceil_mode: false,
        }
    }

    /// Output height per PyTorch (see the module docs and `ceil_mode`).
    pub fn h_out(&self) -> usize {
        pool_out(
            self.h,
            self.kh,
            self.pad_h,
            self.stride_h,
            self.dilation_h,
            self.ceil_mode,
        )
    }

    /// Output width per PyTorch (see the module docs and `ceil_mode`).
    pub fn w_out(&self) -> usize {
        pool_out(
            self.w,
            self.kw,
            self.pad_w,
            self.stride_w,
            self.dilation_w,
            self.ceil_mode,
        )
    }

    /// Number of input elements `n * c * h * w`.
    pub fn x_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }

    /// Number of output elements `n * c * h_out * w_out`.
    pub fn y_len(&self) -> usize {
        self.n * self.c * self.h_out() * self.w_out()
    }

    /// Checks nonzero sizes, `pad <= kernel / 2` (PyTorch's "pad should be
    /// smaller than or equal to half of kernel size") and an output of at
    /// least 1x1. The error names the numbers.
    pub fn validate(&self) -> Result<(), String> {
        let nonzero = [
            ("n", self.n),
            ("c", self.c),
            ("h", self.h),
            ("w", self.w),
            ("kh", self.kh),
            ("kw", self.kw),
            ("stride_h", self.stride_h),
            ("stride_w", self.stride_w),
            ("dilation_h", self.dilation_h),
            ("dilation_w", self.dilation_w),
        ];
        for (name, v) in nonzero {
            if v == 0 {
                return Err(format!("pool2d: {name} must be nonzero (got 0)"));
            }
        }
        if self.pad_h > self.kh / 2 || self.pad_w > self.kw / 2 {
            return Err(format!(
                "pool2d: pad should be at most half of kernel size, got pad_h {} pad_w {} for kh {} kw {}",
                self.pad_h, self.pad_w, self.kh, self.kw
            ));
        }
        let (ho, wo) = (self.h_out(), self.w_out());
        if ho == 0 || wo == 0 {
            return Err(format!(
                "pool2d: output size too small: input {}x{}, kernel {}x{}, stride {}x{}, pad {}x{}, dilation {}x{}, ceil_mode {} gives {}x{}",
                self.h,
                self.w,
                self.kh,
                self.kw,
                self.stride_h,
                self.stride_w,
                self.pad_h,
                self.pad_w,
                self.dilation_h,
                self.dilation_w,
                self.ceil_mode,
                ho,
                wo
            ));
        }
        Ok(())
    }

    fn check(&self, x_len: usize, op: &str) {
        if let Err(e) = self.validate() {
            panic!("{op}: {e}"); // ok: test oracle; a bad problem is a bug in the calling test
        }
        assert_eq!(x_len, self.x_len(), "{op}: x length for {self:?}");
    }
}

/// In-image positions of a max-pool window along one axis (PyTorch's loop:
/// start at `o*s - p`, end at `min(start + d*(k-1) + 1, size)`, then step the
/// start forward by `d` until it is `>= 0`).
fn max_window(o: usize, size: usize, k: usize, p: usize, s: usize, d: usize) -> Vec<usize> {
    let mut start = (o * s) as i64 - p as i64;
    let end = (start + (d * (k - 1)) as i64 + 1).min(size as i64);
    while start < 0 {
        start += d as i64;
    }
    (start..end).step_by(d).map(|i| i as usize).collect()
}

/// Max pooling. Returns `(y, indices)`, both `[n, c, h_out, w_out]`, where
/// `indices` are flat offsets `ih * w + iw` within the `(n, c)` input plane,
/// as PyTorch's `return_indices=True` gives.
///
/// Semantics (PyTorch's CPU kernel): padding never wins (acts as `-inf`);
/// the scan is row-major over the window and an element replaces the current
/// maximum if it is strictly greater or NaN, so among equal maxima the first
/// in scan order wins, and a NaN propagates (the index is that of the last
/// NaN in the window). A window holding only `-inf` values reports the first
/// in-image position. A window with no in-image element at all (only
/// possible in degenerate dilated configurations) yields `-inf` and index
/// `usize::MAX`, which [`max_pool2d_backward`] ignores.
pub fn max_pool2d(x: &[f64], p: &Pool2dParams) -> (Vec<f64>, Vec<usize>) {
    p.check(x.len(), "max_pool2d");
    let (ho, wo) = (p.h_out(), p.w_out());
    let mut y = vec![0.0; p.y_len()];
    let mut idx = vec![0usize; p.y_len()];
    for plane in 0..p.n * p.c {
        let xp = &x[plane * p.h * p.w..(plane + 1) * p.h * p.w];
        for oh in 0..ho {
            let rows = max_window(oh, p.h, p.kh, p.pad_h, p.stride_h, p.dilation_h);
            for ow in 0..wo {
                let cols = max_window(ow, p.w, p.kw, p.pad_w, p.stride_w, p.dilation_w);
                let mut best = f64::NEG_INFINITY;
                let mut best_i = match (rows.first(), cols.first()) {
                    (Some(&r), Some(&c)) => r * p.w + c,
                    _ => usize::MAX,
                };
                for &ih in &rows {
                    for &iw in &cols {
                        let v = xp[ih * p.w + iw];
                        if v > best || v.is_nan() {
                            best = v;
                            best_i = ih * p.w + iw;
                        }
                    }
                }
                let o = (plane * ho + oh) * wo + ow;
                y[o] = best;
                idx[o] = best_i;
            }
        }
    }
    (y, idx)
}

/// Backward of [`max_pool2d`]: scatter-adds `dy` into `dx` at the recorded
/// `indices` (several outputs may pick the same input; their gradients add).
///
/// `dy`, `indices`: `[n, c, h_out, w_out]`; returns `[n, c, h, w]`.
pub fn max_pool2d_backward(dy: &[f64], indices: &[usize], p: &Pool2dParams) -> Vec<f64> {
    let (ho, wo) = (p.h_out(), p.w_out());
    assert_eq!(dy.len(), p.y_len(), "max_pool2d_backward: dy length");
    assert_eq!(
        indices.len(),
        p.y_len(),
        "max_pool2d_backward: indices length"
    );
    let mut dx = vec![0.0; p.x_len()];
    for plane in 0..p.n * p.c {
        for o in 0..ho * wo {
            let i = indices[plane * ho * wo + o];
            if i == usize::MAX {
                continue;
            }
            assert!(i < p.h * p.w, "max_pool2d_backward: index {i} out of plane");
            dx[plane * p.h * p.w + i] += dy[plane * ho * wo + o];
        }
    }
    dx
}

/// One axis of an average-pool window per PyTorch's `avg_pool2d` CPU kernel:
/// returns `(lo, hi, padded_len)` where `lo..hi` are the in-image positions
/// and `padded_len` is the window length clipped to the padded extent, i.e.
/// `min(start + k, size + p) - start` with `start = o*s - p`.
fn avg_window(o: usize, size: usize, k: usize, p: usize, s: usize) -> (usize, usize, usize) {
    let start = (o * s) as i64 - p as i64;
    let end = (start + k as i64).min((size + p) as i64);
    let padded_len = (end - start) as usize;
    let lo = start.max(0) as usize;
    let hi = end.min(size as i64).max(0) as usize;
    (lo, hi, padded_len)
}

/// Divisor and in-image window of one average-pool output element.
fn avg_cell(
    p: &Pool2dParams,
    oh: usize,
    ow: usize,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> (usize, usize, usize, usize, f64) {
    let (h0, h1, ph) = avg_window(oh, p.h, p.kh, p.pad_h, p.stride_h);
    let (w0, w1, pw) = avg_window(ow, p.w, p.kw, p.pad_w, p.stride_w);
    let div = match divisor_override {
        Some(d) => d,
        None if count_include_pad => ph * pw,
        None => h1.saturating_sub(h0) * w1.saturating_sub(w0),
    };
    (h0, h1, w0, w1, div as f64)
}

fn check_avg(p: &Pool2dParams, divisor_override: Option<usize>, x_len: usize, op: &str) {
    p.check(x_len, op);
    assert!(
        p.dilation_h == 1 && p.dilation_w == 1,
        "{op}: PyTorch average pooling has no dilation (got {}x{})",
        p.dilation_h,
        p.dilation_w
    );
    assert!(
        divisor_override != Some(0),
        "{op}: divisor_override must be nonzero"
    );
}

/// Average pooling with PyTorch's exact divisor rules.
///
/// For output `(oh, ow)` the window starts at `oh*stride_h - pad_h` and is
/// clipped to the *padded* extent (`start + kh` at most `h + pad_h`; in ceil
/// mode a window can run past even that). The divisor is then:
/// * `divisor_override` if given;
/// * else, with `count_include_pad`, the size of that padded-clipped window
///   (padding cells count, cells beyond the padding do not);
/// * else the number of in-image cells.
///
/// A window with no in-image cell outputs 0 (PyTorch does the same).
/// `x`: `[n, c, h, w]`, returns `[n, c, h_out, w_out]`.
pub fn avg_pool2d(
    x: &[f64],
    p: &Pool2dParams,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Vec<f64> {
    check_avg(p, divisor_override, x.len(), "avg_pool2d");
    let (ho, wo) = (p.h_out(), p.w_out());
    let mut y = vec![0.0; p.y_len()];
    for plane in 0..p.n * p.c {
        let xp = &x[plane * p.h * p.w..(plane + 1) * p.h * p.w];
        for oh in 0..ho {
            for ow in 0..wo {
                let (h0, h1, w0, w1, div) =
                    avg_cell(p, oh, ow, count_include_pad, divisor_override);
                if h0 >= h1 || w0 >= w1 {
                    continue; // empty window -> 0
                }
                let mut sum = 0.0;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        sum += xp[ih * p.w + iw];
                    }
                }
                y[(plane * ho + oh) * wo + ow] = sum / div;
            }
        }
    }
    y
}

/// Backward of [`avg_pool2d`]: each `dy` element is spread as `dy / divisor`
/// over the in-image cells of its window (same divisor rules).
///
/// `dy`: `[n, c, h_out, w_out]`, returns `[n, c, h, w]`.
pub fn avg_pool2d_backward(
    dy: &[f64],
    p: &Pool2dParams,
    count_include_pad: bool,
    divisor_override: Option<usize>,
) -> Vec<f64> {
    check_avg(p, divisor_override, p.x_len(), "avg_pool2d_backward");
    assert_eq!(dy.len(), p.y_len(), "avg_pool2d_backward: dy length");
    let (ho, wo) = (p.h_out(), p.w_out());
    let mut dx = vec![0.0; p.x_len()];
    for plane in 0..p.n * p.c {
        for oh in 0..ho {
            for ow in 0..wo {
                let (h0, h1, w0, w1, div) =
                    avg_cell(p, oh, ow, count_include_pad, divisor_override);
                let g = dy[(plane * ho + oh) * wo + ow] / div;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        dx[plane * p.h * p.w + ih * p.w + iw] += g;
                    }
                }
            }
        }
    }
    dx
}

/// Input range `start..end` of adaptive-pool bin `i` (PyTorch):
/// `start = floor(i * in_size / out_size)`, `end = ceil((i+1) * in_size / out_size)`.
/// Neighbouring bins may overlap.
pub fn adaptive_bin(i: usize, in_size: usize, out_size: usize) -> (usize, usize) {
    let start = i * in_size / out_size;
    let end = ((i + 1) * in_size).div_ceil(out_size);
    (start, end)
}

/// Adaptive average pooling to `out_h x out_w` with PyTorch's bins (see
/// [`adaptive_bin`]); each output is the mean of its bin.
///
/// `x`: `[n, c, h, w]`, returns `[n, c, out_h, out_w]`.
pub fn adaptive_avg_pool2d(
    x: &[f64],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f64> {
    assert_eq!(x.len(), n * c * h * w, "adaptive_avg_pool2d: x length");
    assert!(
        out_h > 0 && out_w > 0,
        "adaptive_avg_pool2d: output size must be >= 1"
    );
    let mut y = vec![0.0; n * c * out_h * out_w];
    for plane in 0..n * c {
        for oh in 0..out_h {
            let (h0, h1) = adaptive_bin(oh, h, out_h);
            for ow in 0..out_w {
                let (w0, w1) = adaptive_bin(ow, w, out_w);
                let mut sum = 0.0;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        sum += x[plane * h * w + ih * w + iw];
                    }
                }
                y[(plane * out_h + oh) * out_w + ow] = sum / ((h1 - h0) * (w1 - w0)) as f64;
            }
        }
    }
    y
}

/// Backward of [`adaptive_avg_pool2d`]: each `dy` element is spread evenly
/// over its bin (overlapping bins add).
///
/// `dy`: `[n, c, out_h, out_w]`, returns `[n, c, h, w]`.
pub fn adaptive_avg_pool2d_backward(
    dy: &[f64],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
) -> Vec<f64> {
    assert_eq!(
        dy.len(),
        n * c * out_h * out_w,
        "adaptive_avg_pool2d_backward: dy length"
    );
    let mut dx = vec![0.0; n * c * h * w];
    for plane in 0..n * c {
        for oh in 0..out_h {
            let (h0, h1) = adaptive_bin(oh, h, out_h);
            for ow in 0..out_w {
                let (w0, w1) = adaptive_bin(ow, w, out_w);
                let g = dy[(plane * out_h + oh) * out_w + ow] / ((h1 - h0) * (w1 - w0)) as f64;
                for ih in h0..h1 {
                    for iw in w0..w1 {
                        dx[plane * h * w + ih * w + iw] += g;
                    }
                }
            }
        }
    }
    dx
}

/// Global average pooling: the mean of each `(n, c)` plane, i.e.
/// [`adaptive_avg_pool2d`] to 1x1.
///
/// `x`: `[n, c, h, w]`, returns `[n, c]` (= `[n, c, 1, 1]`).
pub fn global_avg_pool(x: &[f64], n: usize, c: usize, h: usize, w: usize) -> Vec<f64> {
    adaptive_avg_pool2d(x, n, c, h, w, 1, 1)
}

/// Backward of [`global_avg_pool`]: `dx[n, c, :, :] = dy[n, c] / (h * w)`.
pub fn global_avg_pool_backward(dy: &[f64], n: usize, c: usize, h: usize, w: usize) -> Vec<f64> {
    adaptive_avg_pool2d_backward(dy, n, c, h, w, 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_vjp;
    use crate::rng::Rng;

    fn seq(n: usize) -> Vec<f64> {
        (1..=n).map(|v| v as f64).collect()
    }

    #[test]
    fn output_size_floor_and_ceil() {
        // h=5, k=2, s=2: floor -> (5-2)/2+1 = 2; ceil -> (5-2+1)/2+1 = 3 (last
        // window starts at 4 < 5, so it is kept).
        let mut p = Pool2dParams::new(1, 1, 5, 6, 2, 2, 0);
        assert_eq!((p.h_out(), p.w_out()), (2, 3));
        p.ceil_mode = true;
        assert_eq!((p.h_out(), p.w_out()), (3, 3));
        // h=3, k=2, s=2, p=1, ceil: (3+2-2+1)/2+1 = 3, but (3-1)*2 = 4 >= 3+1
        // (last window would start in the right padding) -> 2.
        let mut p = Pool2dParams::new(1, 1, 3, 3, 2, 2, 1);
        p.ceil_mode = true;
        assert_eq!(p.h_out(), 2);
        // h=6, k=3, s=2: floor 2, ceil 3.
        let mut p = Pool2dParams::new(1, 1, 6, 6, 3, 2, 0);
        assert_eq!(p.h_out(), 2);
        p.ceil_mode = true;
        assert_eq!(p.h_out(), 3);
        // dilation 2, k=3 (effective 5), h=7, s=2, p=1: (7+2-4-1)/2+1 = 3;
        // ceil: (4+1)/2+1 = 3.
        let mut p = Pool2dParams::new(1, 1, 7, 7, 3, 2, 1);
        p.dilation_h = 2;
        assert_eq!(p.h_out(), 3);
        p.ceil_mode = true;
        assert_eq!(p.h_out(), 3);
        // h=4, k=3, s=2, p=1: floor (4+2-3)/2+1 = 2; ceil (4+2-3+1)/2+1 = 3, 4 < 5 kept.
        let mut p = Pool2dParams::new(1, 1, 4, 4, 3, 2, 1);
        assert_eq!(p.h_out(), 2);
        p.ceil_mode = true;
        assert_eq!(p.h_out(), 3);
    }

    #[test]
    fn validate_rules() {
        let p = Pool2dParams::new(1, 1, 5, 5, 3, 1, 2);
        let e = p.validate().unwrap_err();
        assert!(e.contains("pad_h 2") && e.contains("kh 3"), "{e}");
        assert!(Pool2dParams::new(1, 1, 5, 5, 3, 1, 1).validate().is_ok());
        assert!(Pool2dParams::new(1, 1, 5, 5, 2, 2, 1).validate().is_ok());
        let e = Pool2dParams::new(1, 1, 2, 2, 3, 1, 0)
            .validate()
            .unwrap_err();
        assert!(e.contains("too small") && e.contains("0x0"), "{e}");
        let e = Pool2dParams::new(1, 1, 5, 5, 3, 0, 0)
            .validate()
            .unwrap_err();
        assert!(e.contains("stride_h"), "{e}");
    }

    #[test]
    fn max_pool_first_max_and_nan() {
        // All-equal 2x2 -> index 0.
        let p = Pool2dParams::new(1, 1, 2, 2, 2, 2, 0);
        assert_eq!(max_pool2d(&[1.0; 4], &p), (vec![1.0], vec![0]));
        // [[0,5],[5,2]]: the first 5 in row-major scan order (index 1) wins, not index 2.
        assert_eq!(max_pool2d(&[0.0, 5.0, 5.0, 2.0], &p), (vec![5.0], vec![1]));
        // NaN propagates; index is the last NaN in scan order (3).
        let (y, i) = max_pool2d(&[1.0, f64::NAN, 3.0, f64::NAN], &p);
        assert!(y[0].is_nan());
        assert_eq!(i, vec![3]);
        // All -inf -> value -inf, index = first in-image position.
        assert_eq!(
            max_pool2d(&[f64::NEG_INFINITY; 4], &p),
            (vec![f64::NEG_INFINITY], vec![0])
        );
    }

    #[test]
    fn max_pool_padding_is_neg_inf() {
        // x = [[-5,-3],[-4,-6]], k=2, s=2, p=1 -> out 2x2, each window holds one
        // real element (a zero padding would give 0 everywhere).
        let p = Pool2dParams::new(1, 1, 2, 2, 2, 2, 1);
        assert_eq!((p.h_out(), p.w_out()), (2, 2));
        let (y, i) = max_pool2d(&[-5.0, -3.0, -4.0, -6.0], &p);
        assert_eq!(y, vec![-5.0, -3.0, -4.0, -6.0]);
        assert_eq!(i, vec![0, 1, 2, 3]);
    }

    #[test]
    fn max_pool_golden_overlap_and_indices() {
        // 1 x 2 channels x 3x3, k=2, s=1: indices are per plane (h*W + w).
        // ch0 = [[1,9,2],[3,4,8],[7,5,6]] -> [[9,9],[7,8]], idx [[1,1],[6,5]]
        // ch1 = -ch0 -> window maxima [[-1,-2],[-3,-4]], idx [[0,2],[3,4]]
        let ch0 = [1.0, 9.0, 2.0, 3.0, 4.0, 8.0, 7.0, 5.0, 6.0];
        let mut x = ch0.to_vec();
        x.extend(ch0.iter().map(|v| -v));
        let p = Pool2dParams::new(1, 2, 3, 3, 2, 1, 0);
        let (y, i) = max_pool2d(&x, &p);
        assert_eq!(y, vec![9.0, 9.0, 7.0, 8.0, -1.0, -2.0, -3.0, -4.0]);
        assert_eq!(i, vec![1, 1, 6, 5, 0, 2, 3, 4]);
        // Backward scatter-adds: index 1 receives dy[0] + dy[1].
        let dx = max_pool2d_backward(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &i, &p);
        assert_eq!(
            dx,
            vec![
                0.0, 3.0, 0.0, 0.0, 0.0, 4.0, 3.0, 0.0, 0.0, //
                5.0, 0.0, 6.0, 7.0, 8.0, 0.0, 0.0, 0.0, 0.0
            ]
        );
    }

    #[test]
    fn max_pool_dilation_golden() {
        // 1x5 row [1,5,2,4,3] (h=1 needs kh=1), kw=2, dilation 2, s=1:
        // w_out = (5-2-1)/1+1 = 3; windows {0,2},{1,3},{2,4} -> [2,5,3], idx [2,1,4]
        let mut p = Pool2dParams::new(1, 1, 1, 5, 1, 1, 0);
        p.kw = 2;
        p.dilation_w = 2;
        let (y, i) = max_pool2d(&[1.0, 5.0, 2.0, 4.0, 3.0], &p);
        assert_eq!(y, vec![2.0, 5.0, 3.0]);
        assert_eq!(i, vec![2, 1, 4]);
    }

    #[test]
    fn avg_pool_count_include_pad() {
        // x = 1..9 as 3x3, k=2, s=2, p=1 -> 2x2 output.
        // windows (rows x cols): {-1,0}x{-1,0} -> {1}; {-1,0}x{1,2} -> {2,3};
        // {1,2}x{-1,0} -> {4,7}; {1,2}x{1,2} -> {5,6,8,9}.
        // include pad: divisor 4 everywhere -> [1/4, 5/4, 11/4, 28/4]
        // exclude pad: divisors 1,2,2,4      -> [1, 5/2, 11/2, 7]
        let p = Pool2dParams::new(1, 1, 3, 3, 2, 2, 1);
        let x = seq(9);
        assert_eq!(avg_pool2d(&x, &p, true, None), vec![0.25, 1.25, 2.75, 7.0]);
        assert_eq!(avg_pool2d(&x, &p, false, None), vec![1.0, 2.5, 5.5, 7.0]);
        let d = avg_pool2d(&x, &p, true, Some(3));
        let want = [1.0 / 3.0, 5.0 / 3.0, 11.0 / 3.0, 28.0 / 3.0];
        for k in 0..4 {
            assert!((d[k] - want[k]).abs() < 1e-15);
        }
        // Backward with dy = 1: include pad -> every cell 1/4 (each input
        // in exactly one window); exclude pad -> 1, 1/2,1/2, 1/2, 1/4,1/4, 1/2, 1/4,1/4
        assert_eq!(
            avg_pool2d_backward(&[1.0; 4], &p, true, None),
            vec![0.25; 9]
        );
        assert_eq!(
            avg_pool2d_backward(&[1.0; 4], &p, false, None),
            vec![1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.5, 0.25, 0.25]
        );
    }

    #[test]
    fn avg_pool_ceil_mode_divisor() {
        // 3x3 = 1..9, k=2, s=2, p=0, ceil -> 2x2 (last window starts at 2 < 3).
        // Windows clipped to h+p = 3: {0,1}x{0,1} -> 12/4 = 3; {0,1}x{2} -> 9/2;
        // {2}x{0,1} -> 15/2; {2}x{2} -> 9/1. Same with count_include_pad
        // (the part beyond the padded extent never counts).
        let mut p = Pool2dParams::new(1, 1, 3, 3, 2, 2, 0);
        p.ceil_mode = true;
        assert_eq!((p.h_out(), p.w_out()), (2, 2));
        for cip in [true, false] {
            assert_eq!(avg_pool2d(&seq(9), &p, cip, None), vec![3.0, 4.5, 7.5, 9.0]);
        }
        // Column 4x1 = [1,2,3,4], kh=3, s=2, p=1, ceil -> 3 outputs (kw=1, pad_w=0).
        //   o=0: start -1, end min(2, 5) = 2 -> padded len 3, cells {0,1} = 3
        //   o=1: start 1, end min(4, 5) = 4  -> len 3, cells {1,2,3} = 9
        //   o=2: start 3, end min(6, 5) = 5  -> len 2 (not 3!), cells {3} = 4
        // include pad: [3/3, 9/3, 4/2] = [1, 3, 2]; exclude: [3/2, 3, 4]
        let mut p = Pool2dParams::new(1, 1, 4, 1, 1, 1, 0);
        p.kh = 3;
        p.stride_h = 2;
        p.pad_h = 1;
        p.ceil_mode = true;
        assert_eq!((p.h_out(), p.w_out()), (3, 1));
        assert_eq!(avg_pool2d(&seq(4), &p, true, None), vec![1.0, 3.0, 2.0]);
        assert_eq!(avg_pool2d(&seq(4), &p, false, None), vec![1.5, 3.0, 4.0]);
        p.ceil_mode = false;
        assert_eq!(avg_pool2d(&seq(4), &p, true, None), vec![1.0, 3.0]);
    }

    #[test]
    fn adaptive_bins_5_to_3() {
        // bins: [0,2), [1,4), [3,5) (floor(i*5/3), ceil((i+1)*5/3))
        assert_eq!(adaptive_bin(0, 5, 3), (0, 2));
        assert_eq!(adaptive_bin(1, 5, 3), (1, 4));
        assert_eq!(adaptive_bin(2, 5, 3), (3, 5));
        // x = [1,2,3,4,5] as 1x5 -> [1.5, 3, 4.5]
        assert_eq!(
            adaptive_avg_pool2d(&seq(5), 1, 1, 1, 5, 1, 3),
            vec![1.5, 3.0, 4.5]
        );
        // as 5x1 -> same values along h
        assert_eq!(
            adaptive_avg_pool2d(&seq(5), 1, 1, 5, 1, 3, 1),
            vec![1.5, 3.0, 4.5]
        );
        // Backward with dy = [2, 3, 4]: cell 0: 1; cell 1: 1 + 1; cell 2: 1;
        // cell 3: 1 + 2; cell 4: 2
        assert_eq!(
            adaptive_avg_pool2d_backward(&[2.0, 3.0, 4.0], 1, 1, 1, 5, 1, 3),
            vec![1.0, 2.0, 1.0, 3.0, 2.0]
        );
        // Upsampling 2 -> 3: bins [0,1), [0,2), [1,2)
        assert_eq!(
            adaptive_avg_pool2d(&[2.0, 4.0], 1, 1, 1, 2, 1, 3),
            vec![2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn global_avg_golden() {
        // n=1, c=2, 2x2: means 2.5 and 6.5
        assert_eq!(global_avg_pool(&seq(8), 1, 2, 2, 2), vec![2.5, 6.5]);
        assert_eq!(
            global_avg_pool_backward(&[4.0, 8.0], 1, 2, 2, 2),
            vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]
        );
    }

    fn gradcheck_max(p: Pool2dParams, seed: u64) {
        p.validate().unwrap();
        let mut rng = Rng::new(seed);
        // Pairwise distinct values 0.01 apart: no ties, so max is locally linear.
        let x = rng.vec_distinct(p.x_len(), 0.01);
        let (_, idx) = max_pool2d(&x, &p);
        check_vjp(
            |x| max_pool2d(x, &p).0,
            |dy| max_pool2d_backward(dy, &idx, &p),
            &x,
            seed,
        )
        .unwrap_or_else(|e| panic!("{p:?}: {e}"));
    }

    #[test]
    fn max_pool_gradcheck() {
        gradcheck_max(Pool2dParams::new(1, 1, 1, 1, 1, 1, 0), 1);
        gradcheck_max(Pool2dParams::new(2, 3, 7, 5, 3, 2, 1), 2);
        gradcheck_max(Pool2dParams::new(1, 2, 13, 7, 3, 3, 1), 3);
        gradcheck_max(Pool2dParams::new(3, 1, 5, 5, 2, 1, 0), 4);
        let mut p = Pool2dParams::new(1, 3, 7, 13, 3, 2, 1);
        p.dilation_h = 2;
        p.dilation_w = 2;
        p.ceil_mode = true;
        gradcheck_max(p, 5);
        let mut p = Pool2dParams::new(2, 1, 5, 7, 2, 2, 1);
        p.kw = 3;
        p.stride_w = 3;
        p.ceil_mode = true;
        gradcheck_max(p, 6);
    }

    #[test]
    fn avg_pool_gradcheck() {
        let mut configs = vec![
            Pool2dParams::new(1, 1, 1, 1, 1, 1, 0),
            Pool2dParams::new(2, 3, 7, 5, 3, 2, 1),
            Pool2dParams::new(1, 2, 13, 7, 5, 3, 2),
            Pool2dParams::new(1, 1, 5, 5, 2, 2, 1),
        ];
        let mut p = Pool2dParams::new(2, 2, 5, 7, 3, 2, 1);
        p.kw = 2;
        p.pad_w = 0;
        p.ceil_mode = true;
        configs.push(p);
        let mut p = Pool2dParams::new(1, 1, 4, 13, 3, 2, 1);
        p.ceil_mode = true;
        p.stride_w = 3;
        configs.push(p);
        let mut seed = 0;
        for p in configs {
            p.validate().unwrap();
            let mut rng = Rng::new(seed);
            let x = rng.vec_normal(p.x_len());
            for (cip, ovr) in [(true, None), (false, None), (false, Some(5))] {
                seed += 1;
                check_vjp(
                    |x| avg_pool2d(x, &p, cip, ovr),
                    |dy| avg_pool2d_backward(dy, &p, cip, ovr),
                    &x,
                    seed,
                )
                .unwrap_or_else(|e| panic!("{p:?} cip={cip} ovr={ovr:?}: {e}"));
            }
        }
    }

    #[test]
    fn adaptive_gradcheck() {
        let mut rng = Rng::new(50);
        for &(n, c, h, w, oh, ow) in &[
            (1, 1, 1, 1, 1, 1),
            (2, 3, 5, 7, 3, 3),
            (1, 2, 13, 5, 7, 2),
            (1, 1, 3, 2, 5, 7), // upsampling (overlapping bins)
        ] {
            let x = rng.vec_normal(n * c * h * w);
            check_vjp(
                |x| adaptive_avg_pool2d(x, n, c, h, w, oh, ow),
                |dy| adaptive_avg_pool2d_backward(dy, n, c, h, w, oh, ow),
                &x,
                (h * 100 + w) as u64,
            )
            .unwrap();
            check_vjp(
                |x| global_avg_pool(x, n, c, h, w),
                |dy| global_avg_pool_backward(dy, n, c, h, w),
                &x,
                (h * 100 + w + 1) as u64,
            )
            .unwrap();
        }
    }
}
