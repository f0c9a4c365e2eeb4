//! Sets `cfg(skip_gpu_tests)` when SHADERNET_SKIP_GPU_TESTS is set, so tests that
//! need an adapter show as *ignored* on machines without one instead of passing.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(skip_gpu_tests)");
    println!("cargo::rerun-if-env-changed=SHADERNET_SKIP_GPU_TESTS");
    if std::env::var_os("SHADERNET_SKIP_GPU_TESTS").is_some() {
        println!("cargo::rustc-cfg=skip_gpu_tests");
    }
}
