//! Background batch preparation: a worker thread decodes, augments and
//! normalizes the next batches while the training loop runs the GPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Batch, DataError, Result};

/// Counters of a [`Prefetcher`], for reporting data-loading stalls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefetchStats {
    /// Batches the worker has finished and queued.
    pub produced: u64,
    /// Batches handed to the consumer.
    pub consumed: u64,
    /// Total time the consumer spent blocked waiting for a batch.
    pub wait: Duration,
    /// Number of `next()` calls that found no batch ready and had to wait
    /// (the first one always does).
    pub stalls: u64,
}

/// Yields the batches of an iterator that a worker thread runs ahead of the
/// consumer, at most `depth` batches ahead (plus the one it is building).
///
/// Dropping it mid-epoch stops the worker cleanly: the worker's next send
/// fails, it returns, and the drop waits for it (at most the time to build
/// one batch).
#[derive(Debug)]
pub struct Prefetcher {
    rx: Option<Receiver<Batch>>,
    worker: Option<JoinHandle<()>>,
    produced: Arc<AtomicU64>,
    consumed: u64,
    wait: Duration,
    stalls: u64,
    remaining: Option<usize>,
}

impl Prefetcher {
    /// The queue depth [`crate::Loader::prefetch`] uses.
    pub const DEFAULT_DEPTH: usize = 2;

    /// Starts a worker thread that runs `batches` and queues up to `depth`
    /// (at least 1) finished batches. Errors only if the thread cannot be
    /// spawned.
    pub fn new<I>(batches: I, depth: usize) -> Result<Self>
    where
        I: Iterator<Item = Batch> + Send + 'static,
    {
        let remaining = match batches.size_hint() {
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        };
        let (tx, rx) = mpsc::sync_channel(depth.max(1));
        let produced = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&produced);
        let worker = std::thread::Builder::new()
            .name("shadernet-prefetch".to_string())
            .spawn(move || {
                for batch in batches {
                    if tx.send(batch).is_err() {
                        // The consumer is gone.
                        return;
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
            .map_err(|source| DataError::Io {
                op: "spawning the prefetch thread for",
                path: "batches".into(),
                source,
            })?;
        Ok(Prefetcher {
            rx: Some(rx),
            worker: Some(worker),
            produced,
            consumed: 0,
            wait: Duration::ZERO,
            stalls: 0,
            remaining,
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> PrefetchStats {
        PrefetchStats {
            produced: self.produced.load(Ordering::Relaxed),
            consumed: self.consumed,
            wait: self.wait,
            stalls: self.stalls,
        }
    }

    /// Stops the worker and waits for it; re-raises a panic of the worker
    /// (a bug) in the consumer rather than ending the epoch silently short.
    fn finish(&mut self) {
        self.rx = None;
        if let Some(worker) = self.worker.take() {
            if let Err(payload) = worker.join() {
                if !std::thread::panicking() {
                    std::panic::resume_unwind(payload);
                }
            }
        }
    }

    fn got(&mut self, batch: Batch) -> Option<Batch> {
        self.consumed += 1;
        if let Some(r) = &mut self.remaining {
            *r = r.saturating_sub(1);
        }
        Some(batch)
    }
}

impl Iterator for Prefetcher {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        let rx = self.rx.as_ref()?;
        match rx.try_recv() {
            Ok(batch) => self.got(batch),
            Err(TryRecvError::Empty) => {
                let t0 = Instant::now();
                match rx.recv() {
                    Ok(batch) => {
                        self.wait += t0.elapsed();
                        self.stalls += 1;
                        self.got(batch)
                    }
                    Err(_) => {
                        self.finish();
                        None
                    }
                }
            }
            Err(TryRecvError::Disconnected) => {
                self.finish();
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.remaining {
            Some(r) if self.rx.is_some() => (r, Some(r)),
            _ if self.rx.is_none() => (0, Some(0)),
            _ => (0, None),
        }
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.finish();
    }
}
