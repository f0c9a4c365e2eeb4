//! `train --metrics FILE.jsonl`: one JSON object per line, flushed as the run
//! goes (so `tail -f` and a crash leave a usable file).
//!
//! Records, each with a `"type"`:
//! - `{"type":"config", ...}`: the run's arguments, first (and again after
//!   each `--resume`, with `"resumed_from"` and `"resumed_at_step"`);
//! - `{"type":"step","epoch":0,"step":1,"loss":2.31,"lr":0.1,"images_per_s":812.5,"elapsed_s":1.9}`:
//!   one per optimizer step (`step` is 1-based), written when its loss is
//!   read back (every `--log-every` steps); `images_per_s` and `elapsed_s`
//!   are those of the read-back;
//! - `{"type":"epoch", ...}`: one per epoch, the fields of
//!   [`EpochSummary::to_json`] (train loss and accuracy, test loss and
//!   accuracy, learning rate, images/s, seconds spent waiting for the
//!   loader, elapsed seconds, and `complete`:
//!   false for a last epoch that `--steps` cut short).
//!
//! With `--resume`, an existing file is kept up to the checkpoint's step
//! (records of later steps, written by the interrupted run after its last
//! checkpoint, are dropped, as is a cut-short epoch's record), and the
//! resumed run appends to it; the file then reads as one uninterrupted run.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::train::{EpochSummary, Event};

/// An open metrics file.
pub struct MetricsWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl MetricsWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> std::io::Result<MetricsWriter> {
        let file = File::create(path)?;
        Ok(MetricsWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    /// Opens `path` to continue a run resumed at `step`: keeps its records up
    /// to that step (see the module docs) and appends after them. A missing
    /// file is created.
    pub fn resume(path: &Path, step: usize) -> std::io::Result<MetricsWriter> {
        if path.exists() {
            let kept = kept_lines(path, step)?;
            let tmp = path.with_file_name(format!(
                ".{}.{}.tmp",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                std::process::id()
            ));
            {
                let mut w = BufWriter::new(File::create(&tmp)?);
                for line in &kept {
                    writeln!(w, "{line}")?;
                }
                w.flush()?;
                w.get_ref().sync_all()?;
            }
            if let Err(e) = std::fs::rename(&tmp, path) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(MetricsWriter {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one record (a JSON object) and flushes.
    pub fn write(&mut self, record: &serde_json::Value) -> std::io::Result<()> {
        writeln!(self.out, "{record}")?;
        self.out.flush()
    }

    /// Writes the records of one training event (a `step` record per loss,
    /// an `epoch` record per epoch; nothing for a checkpoint).
    pub fn event(&mut self, event: &Event) -> std::io::Result<()> {
        match event {
            Event::Steps {
                epoch,
                step,
                losses,
                lrs,
                lr,
                images_per_s,
                elapsed_s,
                ..
            } => {
                let first = step + 1 - losses.len();
                for (i, &loss) in losses.iter().enumerate() {
                    let rec = serde_json::json!({
                        "type": "step",
                        "epoch": epoch,
                        "step": first + i,
                        "loss": f64::from(loss).is_finite().then_some(f64::from(loss)),
                        "lr": lrs.get(i).unwrap_or(lr),
                        "images_per_s": crate::train::finite(*images_per_s),
                        "elapsed_s": crate::train::finite(*elapsed_s),
                    });
                    writeln!(self.out, "{rec}")?;
                }
                self.out.flush()
            }
            Event::Epoch(s) => self.write(&epoch_record(s)),
            Event::Checkpoint { .. } | Event::EpochStart { .. } => Ok(()),
        }
    }
}

/// The `epoch` record of a summary.
pub fn epoch_record(s: &EpochSummary) -> serde_json::Value {
    let mut v = s.to_json();
    if let Some(o) = v.as_object_mut() {
        o.insert("type".into(), "epoch".into());
    }
    v
}

/// The lines of an existing metrics file that a run resumed at `step` keeps.
fn kept_lines(path: &Path, step: usize) -> std::io::Result<Vec<String>> {
    let mut kept = Vec::new();
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue; // a line cut short by a kill
        };
        let s = v
            .get("step")
            .and_then(serde_json::Value::as_u64)
            .map(|s| s as usize);
        let keep = match v.get("type").and_then(serde_json::Value::as_str) {
            Some("step") => s.is_some_and(|s| s <= step),
            Some("epoch") => {
                s.is_some_and(|s| s <= step)
                    && v.get("complete").and_then(serde_json::Value::as_bool) != Some(false)
            }
            _ => true,
        };
        if keep {
            kept.push(line);
        }
    }
    Ok(kept)
}
