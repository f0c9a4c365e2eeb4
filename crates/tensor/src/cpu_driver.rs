//! Settings of CPU drivers that have to be in place before the driver loads.
//!
//! Mesa's llvmpipe (which runs lavapipe's compute shaders) splits each dispatch's
//! workgroups into equal static shares, one per thread of its compute pool
//! (`lp_cs_tpool_queue_task`: `iter_per_thread = num_iters / num_threads`), and the
//! dispatch ends when the slowest share does. With one thread per CPU (Mesa's
//! default) a CPU that is busy elsewhere for a moment (the hypervisor of a VM,
//! another process, the driver's own queue thread copying a texture) holds every
//! dispatch up; with more threads than CPUs the operating system hands the idle CPU
//! another share. On a 2-vCPU VM, ResNet-20 training (batch 128) went from 151-171
//! to 183-191 images/s with 6 threads instead of 2, and its step times from
//! 647-943 ms to 662-678 ms (docs/PERFORMANCE.md, "Update 2026-12-07, late
//! morning"); single kernels timed alone did not change.

use std::ffi::OsStr;

/// The variable llvmpipe and lavapipe read their thread count from.
pub const LLVMPIPE_THREADS_VAR: &str = "LP_NUM_THREADS";

/// Compute-pool threads per CPU that [`oversubscribe_llvmpipe`] asks for (2, 4, 6, 8
/// and 16 threads on 2 vCPUs measured 151, 183, 189, 185 and 186 images/s).
pub const LLVMPIPE_THREADS_PER_CPU: usize = 3;

/// llvmpipe's own upper limit on its threads (`LP_MAX_THREADS` in Mesa 22.3).
const LLVMPIPE_MAX_THREADS: usize = 32;

/// The thread count to ask llvmpipe for, given the variable's value now and the
/// number of CPUs: `None` where the user has set it (any non-empty value is kept).
pub fn llvmpipe_threads(current: Option<&OsStr>, cpus: usize) -> Option<usize> {
    if current.is_some_and(|v| !v.is_empty()) {
        return None;
    }
    Some((cpus.max(1) * LLVMPIPE_THREADS_PER_CPU).min(LLVMPIPE_MAX_THREADS))
}

/// Sets [`LLVMPIPE_THREADS_VAR`] to [`LLVMPIPE_THREADS_PER_CPU`] threads per CPU
/// unless it is set already, and returns the count it set. Call it first thing in
/// `main`: the driver reads the variable once, when it loads (the first
/// [`crate::Device`] or adapter listing), and the environment must not change while
/// other threads may read it. Other drivers ignore the variable.
pub fn oversubscribe_llvmpipe() -> Option<usize> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = llvmpipe_threads(std::env::var_os(LLVMPIPE_THREADS_VAR).as_deref(), cpus)?;
    std::env::set_var(LLVMPIPE_THREADS_VAR, threads.to_string());
    Some(threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_the_user_set_is_kept() {
        assert_eq!(llvmpipe_threads(Some(OsStr::new("2")), 2), None);
        assert_eq!(llvmpipe_threads(Some(OsStr::new("anything")), 8), None);
    }

    #[test]
    fn unset_or_empty_asks_for_three_per_cpu_within_llvmpipes_limit() {
        assert_eq!(llvmpipe_threads(None, 2), Some(6));
        assert_eq!(llvmpipe_threads(Some(OsStr::new("")), 1), Some(3));
        assert_eq!(llvmpipe_threads(None, 0), Some(3));
        assert_eq!(llvmpipe_threads(None, 64), Some(32));
    }
}
