//! `log_softmax`, mean cross-entropy with label smoothing and its gradient,
//! `argmax` and the count of correct predictions.

use crate::error::{shape_err, Result};
use crate::kernel::Kernel;
use crate::tensor::{DType, Tensor};

const LOG_SOFTMAX: Kernel = crate::kernel!("log_softmax", "forward");
const LOG_SOFTMAX_BACKWARD: Kernel = crate::kernel!("log_softmax", "backward");
const NLL: Kernel = crate::kernel!("cross_entropy", "forward");
const CROSS_ENTROPY_BACKWARD: Kernel = crate::kernel!("cross_entropy", "backward");
const ARGMAX: Kernel = crate::kernel!("argmax");
const COUNT_CORRECT: Kernel = crate::kernel!("argmax", "count_correct");
const ROW_WG: u32 = 64;

/// Mirrors `struct Params` in shaders/log_softmax.wgsl and shaders/cross_entropy.wgsl
/// (and, with the last two fields unused, shaders/argmax.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct RowParams {
    rows: u32,
    cols: u32,
    smoothing: f32,
    inv_rows: f32,
}

fn rows_cols(op: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    x.expect_dtype(op, DType::F32)?;
    match x.shape() {
        [rows, cols] if *cols > 0 => Ok((*rows, *cols)),
        s => shape_err(
            op,
            format!("expected [rows, classes] with classes >= 1, got {s:?}"),
        ),
    }
}

fn row_params(rows: usize, cols: usize, smoothing: f32) -> RowParams {
    RowParams {
        rows: rows as u32,
        cols: cols as u32,
        smoothing,
        inv_rows: if rows > 0 { 1.0 / rows as f32 } else { 0.0 },
    }
}

/// `log_softmax` over the last dimension of `[rows, classes]`.
pub fn log_softmax(x: &Tensor) -> Result<Tensor> {
    let (rows, cols) = rows_cols("log_softmax", x)?;
    let dev = x.device();
    let y = Tensor::uninit(dev, x.shape(), DType::F32)?;
    dev.launch(
        &LOG_SOFTMAX,
        &[("WG", f64::from(ROW_WG))],
        &row_params(rows, cols, 0.0),
        &[x.arg(), y.arg()],
        dev.grid_1d(rows as u64, ROW_WG)?,
    )?;
    Ok(y)
}

/// Gradient of `log_softmax` given its output `y` and the upstream gradient `dy`.
pub fn log_softmax_backward(y: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let (rows, cols) = rows_cols("log_softmax_backward", y)?;
    if dy.shape() != y.shape() {
        return shape_err(
            "log_softmax_backward",
            format!("dy {:?} does not match y {:?}", dy.shape(), y.shape()),
        );
    }
    let dev = y.device();
    let dx = Tensor::uninit(dev, y.shape(), DType::F32)?;
    dev.launch(
        &LOG_SOFTMAX_BACKWARD,
        &[("WG", f64::from(ROW_WG))],
        &row_params(rows, cols, 0.0),
        &[y.arg(), dy.arg(), dx.arg()],
        dev.grid_1d(rows as u64, ROW_WG)?,
    )?;
    Ok(dx)
}

fn check_labels(op: &'static str, labels: &Tensor, rows: usize) -> Result<()> {
    labels.expect_dtype(op, DType::U32)?;
    if labels.shape() != [rows] {
        return shape_err(
            op,
            format!(
                "labels {:?} do not match {rows} rows of logits",
                labels.shape()
            ),
        );
    }
    Ok(())
}

/// What the forward pass of cross-entropy keeps for its backward.
pub struct CrossEntropy {
    /// The mean loss, shape `[1]`.
    pub loss: Tensor,
    /// `log_softmax(logits)`, kept for the backward pass.
    pub log_probs: Tensor,
}

/// Mean cross-entropy of `logits [N, C]` against `labels [N]` (u32), with label
/// smoothing `smoothing` as `torch.nn.functional.cross_entropy`.
pub fn cross_entropy(logits: &Tensor, labels: &Tensor, smoothing: f32) -> Result<CrossEntropy> {
    let (rows, cols) = rows_cols("cross_entropy", logits)?;
    check_labels("cross_entropy", labels, rows)?;
    if !(0.0..=1.0).contains(&smoothing) {
        return shape_err(
            "cross_entropy",
            format!("label smoothing {smoothing} is outside [0, 1]"),
        );
    }
    let log_probs = log_softmax(logits)?;
    let dev = logits.device();
    let per_row = Tensor::uninit(dev, &[rows], DType::F32)?;
    dev.launch(
        &NLL,
        &[("WG", f64::from(ROW_WG))],
        &row_params(rows, cols, smoothing),
        &[log_probs.arg(), labels.arg(), per_row.arg()],
        dev.grid_1d(rows as u64, ROW_WG)?,
    )?;
    let loss = super::reduce::mean_all(&per_row)?;
    Ok(CrossEntropy { loss, log_probs })
}

/// Gradient of the mean cross-entropy wrt the logits, scaled by the upstream
/// gradient `dloss` (a one-element tensor, so nothing is read back).
pub fn cross_entropy_backward(
    log_probs: &Tensor,
    labels: &Tensor,
    dloss: &Tensor,
    smoothing: f32,
) -> Result<Tensor> {
    let (rows, cols) = rows_cols("cross_entropy_backward", log_probs)?;
    check_labels("cross_entropy_backward", labels, rows)?;
    if dloss.numel() != 1 {
        return shape_err(
            "cross_entropy_backward",
            format!("dloss must have one element, got {:?}", dloss.shape()),
        );
    }
    let dev = log_probs.device();
    let dlogits = Tensor::uninit(dev, log_probs.shape(), DType::F32)?;
    dev.launch(
        &CROSS_ENTROPY_BACKWARD,
        &[("WG", f64::from(ROW_WG))],
        &row_params(rows, cols, smoothing),
        &[log_probs.arg(), labels.arg(), dloss.arg(), dlogits.arg()],
        dev.grid_1d(rows as u64, ROW_WG)?,
    )?;
    Ok(dlogits)
}

/// Index of the largest element of each row of `[rows, cols]` (first wins), as u32.
pub fn argmax(x: &Tensor) -> Result<Tensor> {
    let (rows, cols) = rows_cols("argmax", x)?;
    let dev = x.device();
    let idx = Tensor::uninit(dev, &[rows], DType::U32)?;
    dev.launch(
        &ARGMAX,
        &[("WG", f64::from(ROW_WG))],
        &row_params(rows, cols, 0.0),
        &[x.arg(), idx.arg()],
        dev.grid_1d(rows as u64, ROW_WG)?,
    )?;
    Ok(idx)
}

/// Adds the number of rows whose argmax equals the label to `counter` (a `[1]`
/// u32 tensor), on the GPU: accuracy over many batches costs one readback.
pub fn count_correct(logits: &Tensor, labels: &Tensor, counter: &Tensor) -> Result<()> {
    let (rows, cols) = rows_cols("count_correct", logits)?;
    check_labels("count_correct", labels, rows)?;
    counter.expect_dtype("count_correct", DType::U32)?;
    if counter.numel() != 1 {
        return shape_err(
            "count_correct",
            format!("counter must have one element, got {:?}", counter.shape()),
        );
    }
    let dev = logits.device();
    dev.launch(
        &COUNT_CORRECT,
        &[("WG", f64::from(ROW_WG))],
        &row_params(rows, cols, 0.0),
        &[logits.arg(), labels.arg(), counter.arg()],
        dev.grid_1d(rows as u64, ROW_WG)?,
    )
}
