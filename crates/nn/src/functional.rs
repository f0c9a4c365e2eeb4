//! Differentiable ops: each runs its forward kernels and records a named
//! backward struct that holds exactly the tensors its gradient needs.

use shadernet_tensor::ops::{elementwise, matmul, reduce, softmax};
use shadernet_tensor::{Result, Tensor};

use crate::autograd::{Backward, Tape, Var};

fn bytes(ts: &[&Tensor]) -> u64 {
    ts.iter().map(|t| t.byte_size()).sum()
}

#[derive(Debug)]
struct ReluBackward {
    x: Tensor,
    six: bool,
}

impl Backward for ReluBackward {
    fn name(&self) -> &'static str {
        if self.six {
            "relu6"
        } else {
            "relu"
        }
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let dx = if self.six {
            elementwise::relu6_backward(dy, &self.x)?
        } else {
            elementwise::relu_backward(dy, &self.x)?
        };
        Ok(vec![Some(dx)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.x])
    }
}

/// `max(x, 0)`.
pub fn relu(tape: &Tape, x: &Var) -> Result<Var> {
    let y = elementwise::relu(x.tensor())?;
    Ok(tape.record(y, &[x], || {
        Box::new(ReluBackward {
            x: x.tensor().clone(),
            six: false,
        })
    }))
}

/// `min(max(x, 0), 6)`.
pub fn relu6(tape: &Tape, x: &Var) -> Result<Var> {
    let y = elementwise::relu6(x.tensor())?;
    Ok(tape.record(y, &[x], || {
        Box::new(ReluBackward {
            x: x.tensor().clone(),
            six: true,
        })
    }))
}

#[derive(Debug)]
struct AddBackward;

impl Backward for AddBackward {
    fn name(&self) -> &'static str {
        "add"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(dy.clone()), Some(dy.clone())])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

/// `a + b` for same-shaped operands (residual connections).
pub fn add(tape: &Tape, a: &Var, b: &Var) -> Result<Var> {
    if a.shape() != b.shape() {
        return Err(shadernet_tensor::Error::Shape {
            op: "add",
            message: format!("shapes {:?} and {:?} differ", a.shape(), b.shape()),
        });
    }
    let y = elementwise::add(a.tensor(), b.tensor())?;
    Ok(tape.record(y, &[a, b], || Box::new(AddBackward)))
}

#[derive(Debug)]
struct ReshapeBackward {
    input_shape: Vec<usize>,
}

impl Backward for ReshapeBackward {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(dy.reshape(&self.input_shape)?)])
    }
    fn saved_bytes(&self) -> u64 {
        0
    }
}

/// The same data under another shape (a view).
pub fn reshape(tape: &Tape, x: &Var, shape: &[usize]) -> Result<Var> {
    let y = x.tensor().reshape(shape)?;
    Ok(tape.record(y, &[x], || {
        Box::new(ReshapeBackward {
            input_shape: x.shape().to_vec(),
        })
    }))
}

/// `torch.flatten(x, 1)`: `[N, C, H, W]` to `[N, C*H*W]`.
pub fn flatten(tape: &Tape, x: &Var) -> Result<Var> {
    let n = x.shape().first().copied().unwrap_or(1);
    let rest: usize = x.shape().iter().skip(1).product();
    reshape(tape, x, &[n, rest])
}

#[derive(Debug)]
struct LinearBackward {
    x: Tensor,
    w: Tensor,
    bias: bool,
}

impl Backward for LinearBackward {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        // y = x W^T + b:  dx = dy W,  dW = dy^T x,  db = sum_rows(dy).
        let dx = matmul::matmul(dy, &self.w, false, false)?;
        let dw = matmul::matmul(dy, &self.x, true, false)?;
        let mut out = vec![Some(dx), Some(dw)];
        if self.bias {
            out.push(Some(reduce::sum(dy, &[0], false)?));
        }
        Ok(out)
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.x, &self.w])
    }
}

/// `x W^T + b` for `x [N, in]`, `W [out, in]`, `b [out]` (`torch.nn.functional.linear`).
pub fn linear(tape: &Tape, x: &Var, w: &Var, b: Option<&Var>) -> Result<Var> {
    let op = "linear";
    match (x.shape(), w.shape()) {
        ([_, i], [o, wi]) if i == wi && b.is_none_or(|b| b.shape() == [*o]) => {}
        _ => {
            return Err(shadernet_tensor::Error::Shape {
                op,
                message: format!(
                    "input {:?} does not fit weight {:?}{}",
                    x.shape(),
                    w.shape(),
                    b.map(|b| format!(" and bias {:?}", b.shape()))
                        .unwrap_or_default()
                ),
            })
        }
    }
    let mut y = matmul::matmul(x.tensor(), w.tensor(), false, true)?;
    if let Some(b) = b {
        y = elementwise::add(&y, b.tensor())?;
    }
    let rule = || -> Box<dyn Backward> {
        Box::new(LinearBackward {
            x: x.tensor().clone(),
            w: w.tensor().clone(),
            bias: b.is_some(),
        })
    };
    Ok(match b {
        Some(b) => tape.record(y, &[x, w, b], rule),
        None => tape.record(y, &[x, w], rule),
    })
}

#[derive(Debug)]
struct CrossEntropyBackward {
    log_probs: Tensor,
    labels: Tensor,
    smoothing: f32,
}

impl Backward for CrossEntropyBackward {
    fn name(&self) -> &'static str {
        "cross_entropy"
    }
    fn backward(&self, dy: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let d = softmax::cross_entropy_backward(&self.log_probs, &self.labels, dy, self.smoothing)?;
        Ok(vec![Some(d)])
    }
    fn saved_bytes(&self) -> u64 {
        bytes(&[&self.log_probs, &self.labels])
    }
}

/// Mean cross-entropy of `logits [N, C]` against u32 `labels [N]`, with label
/// smoothing (`torch.nn.functional.cross_entropy`). Returns a `[1]` loss.
pub fn cross_entropy(tape: &Tape, logits: &Var, labels: &Tensor, smoothing: f32) -> Result<Var> {
    let ce = softmax::cross_entropy(logits.tensor(), labels, smoothing)?;
    let log_probs = ce.log_probs;
    Ok(tape.record(ce.loss, &[logits], || {
        Box::new(CrossEntropyBackward {
            log_probs,
            labels: labels.clone(),
            smoothing,
        })
    }))
}
