//! Sum and mean over arbitrary axes of a row-major tensor.
//!
//! `axes` lists distinct dimensions of `shape` in any order. An empty `axes`
//! reduces nothing (the output equals the input). Note this differs from
//! `torch.sum(x, dim=[])`, which reduces over all dimensions: to reduce
//! everything, list every axis.

/// Number of elements of a shape (1 for a scalar shape `[]`).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// Validates `axes` against `shape` and returns a per-dimension mask.
fn reduced_mask(shape: &[usize], axes: &[usize]) -> Vec<bool> {
    let mut mask = vec![false; shape.len()];
    for &a in axes {
        assert!(
            a < shape.len(),
            "reduce: axis {a} out of range for shape {shape:?}"
        );
        assert!(
            !mask[a],
            "reduce: axis {a} appears multiple times in {axes:?}"
        );
        mask[a] = true;
    }
    mask
}

/// Output shape of a reduction: reduced axes become 1 (`keepdim`) or vanish.
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    let mask = reduced_mask(shape, axes);
    shape
        .iter()
        .zip(&mask)
        .filter_map(|(&d, &m)| match (m, keepdim) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// For every input flat index, the flat index of the output element it
/// reduces into (the output laid out with reduced axes of size 1; with or
/// without keepdim the data order is the same).
fn output_index_map(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    let mask = reduced_mask(shape, axes);
    let kept: Vec<usize> = shape
        .iter()
        .zip(&mask)
        .map(|(&d, &m)| if m { 1 } else { d })
        .collect();
    let in_strides = strides(shape);
    let out_strides = strides(&kept);
    (0..numel(shape))
        .map(|i| {
            let mut o = 0;
            for d in 0..shape.len() {
                let coord = (i / in_strides[d]) % shape[d];
                if !mask[d] {
                    o += coord * out_strides[d];
                }
            }
            o
        })
        .collect()
}

/// Sum over `axes`. Returns the values and the output shape (reduced axes
/// kept as size 1 when `keepdim`, removed otherwise).
///
/// `x`: `shape`; output: `reduced_shape(shape, axes, keepdim)`.
pub fn sum_axes(
    x: &[f64],
    shape: &[usize],
    axes: &[usize],
    keepdim: bool,
) -> (Vec<f64>, Vec<usize>) {
    assert_eq!(
        x.len(),
        numel(shape),
        "sum_axes: x length vs shape {shape:?}"
    );
    let out_shape = reduced_shape(shape, axes, keepdim);
    let map = output_index_map(shape, axes);
    let mut y = vec![0.0; numel(&out_shape)];
    for (i, &o) in map.iter().enumerate() {
        y[o] += x[i];
    }
    (y, out_shape)
}

/// Number of input elements reduced into each output element.
pub fn reduced_count(shape: &[usize], axes: &[usize]) -> usize {
    reduced_mask(shape, axes);
    axes.iter().map(|&a| shape[a]).product()
}

/// Mean over `axes` (sum divided by the product of the reduced sizes; NaN
/// when a reduced axis has size 0, as in PyTorch).
pub fn mean_axes(
    x: &[f64],
    shape: &[usize],
    axes: &[usize],
    keepdim: bool,
) -> (Vec<f64>, Vec<usize>) {
    let (mut y, out_shape) = sum_axes(x, shape, axes, keepdim);
    let count = reduced_count(shape, axes) as f64;
    for v in &mut y {
        *v /= count;
    }
    (y, out_shape)
}

/// Backward of [`sum_axes`]: broadcasts `dy` back to `shape`.
///
/// `dy` holds the reduced values in order (its keepdim-or-not shape does not
/// matter, only its length); returns a tensor of `shape`.
pub fn sum_axes_backward(dy: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    let map = output_index_map(shape, axes);
    assert_eq!(
        dy.len(),
        numel(&reduced_shape(shape, axes, true)),
        "sum_axes_backward: dy length"
    );
    map.iter().map(|&o| dy[o]).collect()
}

/// Backward of [`mean_axes`]: broadcasts `dy / count` back to `shape`.
pub fn mean_axes_backward(dy: &[f64], shape: &[usize], axes: &[usize]) -> Vec<f64> {
    let count = reduced_count(shape, axes) as f64;
    let mut dx = sum_axes_backward(dy, shape, axes);
    for v in &mut dx {
        *v /= count;
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_vjp;
    use crate::rng::Rng;

    #[test]
    fn golden_2x3() {
        // x = [[1, 2, 3], [4, 5, 6]]
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            sum_axes(&x, &[2, 3], &[1], false),
            (vec![6.0, 15.0], vec![2])
        );
        assert_eq!(
            sum_axes(&x, &[2, 3], &[0], true),
            (vec![5.0, 7.0, 9.0], vec![1, 3])
        );
        assert_eq!(sum_axes(&x, &[2, 3], &[1, 0], false), (vec![21.0], vec![]));
        assert_eq!(sum_axes(&x, &[2, 3], &[], false), (x.to_vec(), vec![2, 3]));
        assert_eq!(
            mean_axes(&x, &[2, 3], &[1], true),
            (vec![2.0, 5.0], vec![2, 1])
        );
        assert_eq!(
            sum_axes_backward(&[10.0, 20.0], &[2, 3], &[1]),
            vec![10.0, 10.0, 10.0, 20.0, 20.0, 20.0]
        );
        assert_eq!(
            mean_axes_backward(&[3.0, 6.0, 9.0], &[2, 3], &[0]),
            vec![1.5, 3.0, 4.5, 1.5, 3.0, 4.5]
        );
    }

    #[test]
    fn golden_3d_middle_and_outer() {
        // shape [2, 2, 2], x = 0..8: x[i,j,k] = 4i + 2j + k
        let x: Vec<f64> = (0..8).map(|v| v as f64).collect();
        // reduce axes {0, 2}: out[j] = sum_{i,k} 4i+2j+k
        //   = 4*(0+0+1+1) + 4*2j + (0+1+0+1) = 10 + 8j
        let (y, s) = sum_axes(&x, &[2, 2, 2], &[2, 0], true);
        assert_eq!(s, vec![1, 2, 1]);
        assert_eq!(y, vec![10.0, 18.0]);
        let (m, s) = mean_axes(&x, &[2, 2, 2], &[0, 2], false);
        assert_eq!(s, vec![2]);
        assert_eq!(m, vec![2.5, 4.5]);
    }

    #[test]
    #[should_panic(expected = "appears multiple times")]
    fn duplicate_axis_panics() {
        sum_axes(&[1.0, 2.0], &[2], &[0, 0], false);
    }

    #[test]
    fn gradcheck_various() {
        let mut rng = Rng::new(20);
        let shape = [3, 1, 5, 7];
        let x = rng.vec_normal(numel(&shape));
        let cases: [&[usize]; 6] = [&[0], &[2], &[3, 1], &[0, 2], &[0, 1, 2, 3], &[]];
        for (i, axes) in cases.iter().enumerate() {
            for keepdim in [false, true] {
                check_vjp(
                    |x| sum_axes(x, &shape, axes, keepdim).0,
                    |dy| sum_axes_backward(dy, &shape, axes),
                    &x,
                    i as u64,
                )
                .unwrap();
                check_vjp(
                    |x| mean_axes(x, &shape, axes, keepdim).0,
                    |dy| mean_axes_backward(dy, &shape, axes),
                    &x,
                    100 + i as u64,
                )
                .unwrap();
            }
        }
    }
}
