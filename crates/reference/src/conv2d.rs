//! 2-D convolution (cross-correlation, as `torch.nn.functional.conv2d`).
//!
//! Input `x`: `[n, c_in, h, w]`; weight `w`: OIHW `[c_out, c_in/groups, kh, kw]`;
//! bias: `[c_out]`; output `y`: `[n, c_out, h_out, w_out]`. Supports any
//! groups (depthwise is `groups == c_in`), stride, dilation and asymmetric
//! zero padding.
//!
//! Output position `oh` reads input rows `oh*stride_h - pad_top + ky*dilation_h`
//! for `ky in 0..kh` (rows outside `0..h` read zero); likewise for columns.

/// Shapes and hyper-parameters of a 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero rows added below the input.
    pub pad_bottom: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Zero columns added right of the input.
    pub pad_right: usize,
    /// Vertical dilation (1 = dense kernel).
    pub dilation_h: usize,
    /// Horizontal dilation (1 = dense kernel).
    pub dilation_w: usize,
    /// Number of groups; must divide `c_in` and `c_out`.
    pub groups: usize,
}

/// `floor((size + pad_a + pad_b - (d*(k-1)+1)) / s) + 1`, or 0 when the
/// (dilated) kernel does not fit or a parameter is 0.
fn conv_out(size: usize, pad_a: usize, pad_b: usize, k: usize, s: usize, d: usize) -> usize {
    if s == 0 || k == 0 || d == 0 {
        return 0;
    }
    let eff = d * (k - 1) + 1;
    let total = size + pad_a + pad_b;
    if total < eff {
        0
    } else {
        (total - eff) / s + 1
    }
}

impl Conv2dParams {
    /// A square-kernel convolution with symmetric padding, no dilation, one group.
    pub fn simple(
        n: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Self {
        Conv2dParams {
            n,
            c_in,
            h,
            w,
            c_out,
            kh: k,
            kw: k,
            stride_h: stride,
            stride_w: stride,
            pad_top: pad,
            pad_bottom: pad,
            pad_left: pad,
            pad_right: pad,
            dilation_h: 1,
            dilation_w: 1,
            groups: 1,
        }
    }

    /// Output height: `floor((h + pad_top + pad_bottom - (dilation_h*(kh-1)+1)) / stride_h) + 1`
    /// (0 when the kernel does not fit; see [`Conv2dParams::validate`]).
    pub fn h_out(&self) -> usize {
        conv_out(
            self.h,
            self.pad_top,
            self.pad_bottom,
            self.kh,
            self.stride_h,
            self.dilation_h,
        )
    }

    /// Output width: `floor((w + pad_left + pad_right - (dilation_w*(kw-1)+1)) / stride_w) + 1`
    /// (0 when the kernel does not fit; see [`Conv2dParams::validate`]).
    pub fn w_out(&self) -> usize {
        conv_out(
            self.w,
            self.pad_left,
            self.pad_right,
            self.kw,
            self.stride_w,
            self.dilation_w,
        )
    }

    /// Input channels per group (`c_in / groups`).
    pub fn c_in_per_group(&self) -> usize {
        self.c_in / self.groups
    }

    /// Output channels per group (`c_out / groups`).
    pub fn c_out_per_group(&self) -> usize {
        self.c_out / self.groups
    }

    /// Number of elements of `x`: `n * c_in * h * w`.
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }

    /// Number of elements of the weight: `c_out * (c_in/groups) * kh * kw`.
    pub fn w_len(&self) -> usize {
        self.c_out * self.c_in_per_group() * self.kh * self.kw
    }

    /// Number of elements of `y`: `n * c_out * h_out * w_out`.
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.h_out() * self.w_out()
    }

    /// Checks that all sizes are nonzero, `groups` divides `c_in` and
    /// `c_out`, and the output is at least 1x1. The error names the numbers.
    pub fn validate(&self) -> Result<(), String> {
        let nonzero = [
            ("n", self.n),
            ("c_in", self.c_in),
            ("h", self.h),
            ("w", self.w),
            ("c_out", self.c_out),
            ("kh", self.kh),
            ("kw", self.kw),
            ("stride_h", self.stride_h),
            ("stride_w", self.stride_w),
            ("dilation_h", self.dilation_h),
            ("dilation_w", self.dilation_w),
            ("groups", self.groups),
        ];
        for (name, v) in nonzero {
            if v == 0 {
                return Err(format!("conv2d: {name} must be nonzero (got 0)"));
            }
        }
        if !self.c_in.is_multiple_of(self.groups) {
            return Err(format!(
                "conv2d: groups {} does not divide c_in {}",
                self.groups, self.c_in
            ));
        }
        if !self.c_out.is_multiple_of(self.groups) {
            return Err(format!(
                "conv2d: groups {} does not divide c_out {}",
                self.groups, self.c_out
            ));
        }
        if self.h_out() == 0 {
            return Err(format!(
                "conv2d: output height would be < 1: h {} + pad {}+{} smaller than dilated kernel {} (kh {}, dilation {})",
                self.h,
                self.pad_top,
                self.pad_bottom,
                self.dilation_h * (self.kh - 1) + 1,
                self.kh,
                self.dilation_h
            ));
        }
        if self.w_out() == 0 {
            return Err(format!(
                "conv2d: output width would be < 1: w {} + pad {}+{} smaller than dilated kernel {} (kw {}, dilation {})",
                self.w,
                self.pad_left,
                self.pad_right,
                self.dilation_w * (self.kw - 1) + 1,
                self.kw,
                self.dilation_w
            ));
        }
        Ok(())
    }

    fn check(&self, x: &[f64], w: &[f64]) {
        if let Err(e) = self.validate() {
            panic!("{e}"); // ok: test oracle; a bad problem is a bug in the calling test
        }
        assert_eq!(x.len(), self.x_len(), "conv2d: x length for {self:?}");
        assert_eq!(w.len(), self.w_len(), "conv2d: weight length for {self:?}");
    }

    /// Input row read by output row `oh` and kernel row `ky`, if inside the image.
    fn in_row(&self, oh: usize, ky: usize) -> Option<usize> {
        (oh * self.stride_h + ky * self.dilation_h)
            .checked_sub(self.pad_top)
            .filter(|&r| r < self.h)
    }

    /// Input column read by output column `ow` and kernel column `kx`, if inside the image.
    fn in_col(&self, ow: usize, kx: usize) -> Option<usize> {
        (ow * self.stride_w + kx * self.dilation_w)
            .checked_sub(self.pad_left)
            .filter(|&c| c < self.w)
    }
}

/// PyTorch's `padding='same'` split for stride 1: the total padding
/// `dilation * (k - 1)` is split as `left = total / 2`, `right = total - left`
/// (the extra pixel goes to the right/bottom for even kernels).
pub fn same_padding(k: usize, dilation: usize) -> (usize, usize) {
    let total = dilation * (k.max(1) - 1);
    let left = total / 2;
    (left, total - left)
}

/// Forward convolution.
///
/// `x`: `[n, c_in, h, w]`, `w`: `[c_out, c_in/groups, kh, kw]`,
/// `bias`: `[c_out]` or `None`; returns `[n, c_out, h_out, w_out]`.
pub fn conv2d(x: &[f64], w: &[f64], bias: Option<&[f64]>, p: &Conv2dParams) -> Vec<f64> {
    p.check(x, w);
    if let Some(b) = bias {
        assert_eq!(b.len(), p.c_out, "conv2d: bias length");
    }
    let (ho, wo) = (p.h_out(), p.w_out());
    let (cig, cog) = (p.c_in_per_group(), p.c_out_per_group());
    let mut y = vec![0.0; p.y_len()];
    for b in 0..p.n {
        for co in 0..p.c_out {
            let g = co / cog; // group of this output channel
            for oh in 0..ho {
                for ow in 0..wo {
                    let mut acc = bias.map_or(0.0, |bb| bb[co]);
                    for icg in 0..cig {
                        let ci = g * cig + icg;
                        for ky in 0..p.kh {
                            let Some(ih) = p.in_row(oh, ky) else { continue };
                            for kx in 0..p.kw {
                                let Some(iw) = p.in_col(ow, kx) else { continue };
                                let xv = x[((b * p.c_in + ci) * p.h + ih) * p.w + iw];
                                let wv = w[((co * cig + icg) * p.kh + ky) * p.kw + kx];
                                acc += xv * wv;
                            }
                        }
                    }
                    y[((b * p.c_out + co) * ho + oh) * wo + ow] = acc;
                }
            }
        }
    }
    y
}

/// Backward convolution: returns `(dx, dw, db)` with the shapes of `x`,
/// `w` and the bias (`db[co] = sum of dy over n, h_out, w_out`).
///
/// `x`: `[n, c_in, h, w]`, `w`: `[c_out, c_in/groups, kh, kw]`,
/// `dy`: `[n, c_out, h_out, w_out]`.
pub fn conv2d_backward(
    x: &[f64],
    w: &[f64],
    dy: &[f64],
    p: &Conv2dParams,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    p.check(x, w);
    assert_eq!(dy.len(), p.y_len(), "conv2d_backward: dy length");
    let (ho, wo) = (p.h_out(), p.w_out());
    let (cig, cog) = (p.c_in_per_group(), p.c_out_per_group());
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    let mut db = vec![0.0; p.c_out];
    for b in 0..p.n {
        for co in 0..p.c_out {
            let g = co / cog;
            for oh in 0..ho {
                for ow in 0..wo {
                    let d = dy[((b * p.c_out + co) * ho + oh) * wo + ow];
                    db[co] += d;
                    for icg in 0..cig {
                        let ci = g * cig + icg;
                        for ky in 0..p.kh {
                            let Some(ih) = p.in_row(oh, ky) else { continue };
                            for kx in 0..p.kw {
                                let Some(iw) = p.in_col(ow, kx) else { continue };
                                let xi = ((b * p.c_in + ci) * p.h + ih) * p.w + iw;
                                let wi = ((co * cig + icg) * p.kh + ky) * p.kw + kx;
                                dx[xi] += d * w[wi];
                                dw[wi] += d * x[xi];
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw, db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_vjp;
    use crate::rng::Rng;

    #[test]
    fn golden_oihw_layout() {
        // n=1, c_in=2, 2x2 input, c_out=2, 2x2 kernel -> 1x1 output.
        // x[ci=0] = [[1,2],[3,4]], x[ci=1] = [[5,6],[7,8]]; w[i] = i (OIHW).
        // y[co] = sum_{ci,ky,kx} x[ci,ky,kx] * w[co,ci,ky,kx] = sum_j x_j * (8 co + j):
        //   y[0] = 1*0+2*1+3*2+4*3+5*4+6*5+7*6+8*7 = 168
        //   y[1] = 168 + 8*(1+...+8) = 168 + 288 = 456
        // (IOHW would give y[0] = 20 + 252 = 272; a flipped kernel (true
        // convolution) would give y[0] = (3+4+3+0) + (35+36+35+32) = 148.)
        let mut p = Conv2dParams::simple(1, 2, 2, 2, 2, 2, 1, 0);
        let x: Vec<f64> = (1..=8).map(|v| v as f64).collect();
        let w: Vec<f64> = (0..16).map(|v| v as f64).collect();
        assert_eq!(conv2d(&x, &w, None, &p), vec![168.0, 456.0]);
        assert_eq!(conv2d(&x, &w, Some(&[0.5, -1.0]), &p), vec![168.5, 455.0]);
        // Same with rectangular 1x2 kernel over a 1x3 row (kh=1, kw=2): w = [10, 1]
        // y = [1*10+2*1, 2*10+3*1] = [12, 23] pins row-major kh,kw order.
        p = Conv2dParams::simple(1, 1, 1, 3, 1, 1, 1, 0);
        p.kw = 2;
        assert_eq!(
            conv2d(&[1.0, 2.0, 3.0], &[10.0, 1.0], None, &p),
            vec![12.0, 23.0]
        );
    }

    #[test]
    fn golden_asymmetric_padding() {
        // 1x3 row [1,2,3], kernel 1x2 [10, 1], pad_left=1, pad_right=0:
        // w_out = (3+1-2)/1+1 = 3; windows [-1,0],[0,1],[1,2]:
        //   y = [0*10+1*1, 1*10+2*1, 2*10+3*1] = [1, 12, 23]
        let mut p = Conv2dParams::simple(1, 1, 1, 3, 1, 1, 1, 0);
        p.kw = 2;
        p.pad_left = 1;
        assert_eq!(p.w_out(), 3);
        assert_eq!(
            conv2d(&[1.0, 2.0, 3.0], &[10.0, 1.0], None, &p),
            vec![1.0, 12.0, 23.0]
        );
        // pad_right=1 instead: windows [0,1],[1,2],[2,3] -> [12, 23, 30]
        p.pad_left = 0;
        p.pad_right = 1;
        assert_eq!(
            conv2d(&[1.0, 2.0, 3.0], &[10.0, 1.0], None, &p),
            vec![12.0, 23.0, 30.0]
        );
    }

    #[test]
    fn golden_groups_and_dilation() {
        // groups=2, c_in=2, c_out=4, 1x1 kernel, one pixel x = [3, 5]:
        // out channels 0,1 see only ci=0; 2,3 see only ci=1. w = [1,2,3,4] (shape [4,1,1,1])
        // y = [3*1, 3*2, 5*3, 5*4] = [3, 6, 15, 20]
        let mut p = Conv2dParams::simple(1, 2, 1, 1, 4, 1, 1, 0);
        p.groups = 2;
        assert_eq!(
            conv2d(&[3.0, 5.0], &[1.0, 2.0, 3.0, 4.0], None, &p),
            vec![3.0, 6.0, 15.0, 20.0]
        );
        // Dilation 2 on a 1x5 row [1,2,3,4,5], kernel 1x2 [1, 10]: taps at +0 and +2;
        // w_out = (5 - 3)/1 + 1 = 3; y = [1+30, 2+40, 3+50] = [31, 42, 53]
        let mut p = Conv2dParams::simple(1, 1, 1, 5, 1, 1, 1, 0);
        p.kw = 2;
        p.dilation_w = 2;
        assert_eq!(
            conv2d(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 10.0], None, &p),
            vec![31.0, 42.0, 53.0]
        );
    }

    #[test]
    fn golden_stride_floor_output_size() {
        // h=5, k=2, s=2: floor((5-2)/2)+1 = 2 (not 3).
        let p = Conv2dParams::simple(1, 1, 5, 5, 1, 2, 2, 0);
        assert_eq!((p.h_out(), p.w_out()), (2, 2));
        // h=7, k=3, s=2, pad_top=1, pad_bottom=0: floor((7+1-3)/2)+1 = 3
        let mut p = Conv2dParams::simple(1, 1, 7, 7, 1, 3, 2, 0);
        p.pad_top = 1;
        assert_eq!(p.h_out(), 3);
        assert_eq!(p.w_out(), 3); // (7-3)/2+1
                                  // dilation 2, k=3 -> effective 5: h=7 -> 3; h=13, s=3, pad 2+2 -> (17-5)/3+1 = 5
        p = Conv2dParams::simple(1, 1, 7, 13, 1, 3, 1, 0);
        p.dilation_h = 2;
        assert_eq!(p.h_out(), 3);
        p.dilation_w = 2;
        p.stride_w = 3;
        p.pad_left = 2;
        p.pad_right = 2;
        assert_eq!(p.w_out(), 5);
        // Values: 1x1x5x5 of ones, 2x2 kernel of ones, stride 2 -> four 4s (the
        // last row/column is dropped).
        let p = Conv2dParams::simple(1, 1, 5, 5, 1, 2, 2, 0);
        assert_eq!(conv2d(&[1.0; 25], &[1.0; 4], None, &p), vec![4.0; 4]);
    }

    #[test]
    fn same_padding_split() {
        assert_eq!(same_padding(1, 1), (0, 0));
        assert_eq!(same_padding(3, 1), (1, 1));
        assert_eq!(same_padding(4, 1), (1, 2));
        assert_eq!(same_padding(3, 2), (2, 2));
        assert_eq!(same_padding(2, 3), (1, 2));
        assert_eq!(same_padding(5, 3), (6, 6));
        // A 'same' conv keeps the size.
        for (k, d) in [(2, 1), (4, 1), (3, 2), (2, 3)] {
            let (l, r) = same_padding(k, d);
            let mut p = Conv2dParams::simple(1, 1, 7, 6, 1, k, 1, 0);
            p.dilation_h = d;
            p.dilation_w = d;
            p.pad_top = l;
            p.pad_bottom = r;
            p.pad_left = l;
            p.pad_right = r;
            assert_eq!((p.h_out(), p.w_out()), (7, 6), "k={k} d={d}");
        }
    }

    #[test]
    fn validate_messages() {
        let mut p = Conv2dParams::simple(1, 6, 5, 5, 4, 3, 1, 0);
        p.groups = 4;
        let e = p.validate().unwrap_err();
        assert!(e.contains("groups 4") && e.contains("c_in 6"), "{e}");
        p.groups = 3;
        let e = p.validate().unwrap_err();
        assert!(e.contains("groups 3") && e.contains("c_out 4"), "{e}");
        p.groups = 2;
        assert!(p.validate().is_ok());
        p.kh = 7;
        let e = p.validate().unwrap_err();
        assert!(e.contains("height") && e.contains("h 5"), "{e}");
        p.kh = 3;
        p.dilation_w = 3; // effective 7 > 5
        let e = p.validate().unwrap_err();
        assert!(e.contains("width") && e.contains("dilated kernel 7"), "{e}");
        p.dilation_w = 1;
        p.stride_h = 0;
        assert!(p.validate().unwrap_err().contains("stride_h"));
    }

    /// Runs the gradient checks for x, w and bias of one configuration.
    fn gradcheck_conv(p: Conv2dParams, seed: u64) {
        p.validate().unwrap();
        let mut rng = Rng::new(seed);
        let x = rng.vec_normal(p.x_len());
        let w = rng.vec_normal(p.w_len());
        let bias = rng.vec_normal(p.c_out);
        check_vjp(
            |x| conv2d(x, &w, Some(&bias), &p),
            |dy| conv2d_backward(&x, &w, dy, &p).0,
            &x,
            seed,
        )
        .unwrap_or_else(|e| panic!("dx {p:?}: {e}"));
        check_vjp(
            |w| conv2d(&x, w, Some(&bias), &p),
            |dy| conv2d_backward(&x, &w, dy, &p).1,
            &w,
            seed + 1,
        )
        .unwrap_or_else(|e| panic!("dw {p:?}: {e}"));
        check_vjp(
            |b| conv2d(&x, &w, Some(b), &p),
            |dy| conv2d_backward(&x, &w, dy, &p).2,
            &bias,
            seed + 2,
        )
        .unwrap_or_else(|e| panic!("db {p:?}: {e}"));
    }

    #[test]
    fn gradcheck_plain_and_strided() {
        gradcheck_conv(Conv2dParams::simple(1, 1, 1, 1, 1, 1, 1, 0), 1);
        gradcheck_conv(Conv2dParams::simple(2, 3, 5, 7, 5, 3, 1, 1), 2);
        gradcheck_conv(Conv2dParams::simple(1, 3, 7, 5, 2, 3, 2, 1), 3);
        gradcheck_conv(Conv2dParams::simple(3, 1, 13, 7, 1, 5, 3, 2), 4);
    }

    #[test]
    fn gradcheck_dilation_asymmetric() {
        let mut p = Conv2dParams::simple(2, 3, 7, 13, 5, 3, 1, 0);
        p.dilation_h = 2;
        p.dilation_w = 2;
        p.pad_top = 2;
        p.pad_bottom = 1;
        p.pad_left = 0;
        p.pad_right = 3;
        p.stride_w = 2;
        gradcheck_conv(p, 5);
        let mut p = Conv2dParams::simple(1, 2, 5, 5, 3, 1, 1, 0);
        p.kh = 3;
        p.kw = 2;
        p.stride_h = 3;
        p.pad_top = 1;
        p.pad_right = 1;
        gradcheck_conv(p, 6);
    }

    #[test]
    fn gradcheck_groups_and_depthwise() {
        // groups 2
        let mut p = Conv2dParams::simple(2, 4, 5, 7, 6, 3, 1, 1);
        p.groups = 2;
        gradcheck_conv(p, 7);
        // groups 3 with stride 2 and dilation
        let mut p = Conv2dParams::simple(1, 3, 7, 7, 9, 3, 2, 2);
        p.groups = 3;
        p.dilation_h = 2;
        gradcheck_conv(p, 8);
        // depthwise (groups == c_in == c_out), stride 2
        let mut p = Conv2dParams::simple(2, 5, 7, 5, 5, 3, 2, 1);
        p.groups = 5;
        gradcheck_conv(p, 9);
        // depthwise with channel multiplier 2, asymmetric 'same' padding for k=4
        let (l, r) = same_padding(4, 1);
        let mut p = Conv2dParams::simple(1, 3, 5, 5, 6, 4, 1, 0);
        p.groups = 3;
        p.pad_top = l;
        p.pad_bottom = r;
        p.pad_left = l;
        p.pad_right = r;
        gradcheck_conv(p, 10);
    }
}
