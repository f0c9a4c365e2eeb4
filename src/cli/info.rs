//! `shadernet info`: every adapter, the chosen one, and the limits and features that matter.

use shadernet::tensor::{
    list_adapters, wgpu::Features, AdapterSummary, Device, LLVMPIPE_THREADS_VAR,
};

use super::common::open_device;

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

fn adapter_json(a: &AdapterSummary) -> serde_json::Value {
    serde_json::json!({
        "index": a.index, "name": a.name, "backend": a.backend, "device_type": a.device_type,
        "driver": a.driver,
        "max_buffer_size": a.limits.max_buffer_size,
        "max_storage_buffer_binding_size": a.limits.max_storage_buffer_binding_size,
        "max_compute_workgroup_storage_size": a.limits.max_compute_workgroup_storage_size,
        "max_compute_invocations_per_workgroup": a.limits.max_compute_invocations_per_workgroup,
        "subgroups": a.has_subgroups(), "subgroup_min_size": a.subgroup_min_size,
        "subgroup_max_size": a.subgroup_max_size, "timestamp_queries": a.has_timestamps(),
        "f16": a.features.contains(Features::SHADER_F16),
    })
}

pub fn run(selector: Option<&str>, json: bool) -> anyhow::Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        return Err(shadernet::Error::NoAdapter.into());
    }
    let device = open_device(selector)?;
    let chosen = device.adapter();
    if json {
        let all: Vec<_> = adapters.iter().map(adapter_json).collect();
        println!(
            "{}",
            serde_json::json!({
                "adapters": all,
                "chosen": chosen.index,
                "texel_operands": device.max_texel_vec4s() > 0,
                // What llvmpipe/lavapipe read when it loaded (null: unset or not a CPU adapter).
                "lp_num_threads": lp_num_threads(&device),
            })
        );
        return Ok(());
    }
    println!("Adapters (most capable first; pick one with --device INDEX|NAME):");
    for a in &adapters {
        let mark = if a.index == chosen.index { "*" } else { " " };
        println!(
            "{mark} {}: {} [{} / {}] driver: {}",
            a.index, a.name, a.backend, a.device_type, a.driver
        );
    }
    let l = &chosen.limits;
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!("\nChosen: {} ({})", chosen.name, chosen.backend);
    println!("  max buffer size               {}", mib(l.max_buffer_size));
    println!(
        "  max storage binding           {}",
        mib(l.max_storage_buffer_binding_size)
    );
    println!(
        "  workgroup storage             {} KiB",
        l.max_compute_workgroup_storage_size / 1024
    );
    println!(
        "  max invocations / workgroup   {}",
        l.max_compute_invocations_per_workgroup
    );
    println!(
        "  max workgroups / dimension    {}",
        l.max_compute_workgroups_per_dimension
    );
    println!(
        "  subgroups                     {}{}",
        yes(chosen.has_subgroups()),
        if chosen.has_subgroups() {
            format!(
                " (size {}..{})",
                chosen.subgroup_min_size, chosen.subgroup_max_size
            )
        } else {
            String::new()
        }
    );
    println!(
        "  timestamp queries             {}",
        yes(chosen.has_timestamps())
    );
    println!(
        "  timestamps inside passes      {}",
        yes(chosen
            .features
            .contains(Features::TIMESTAMP_QUERY_INSIDE_PASSES))
    );
    println!(
        "  f16 in shaders                {}",
        yes(chosen.features.contains(Features::SHADER_F16))
    );
    // Read-only rgba32float storage textures: the subgroup convolutions need them.
    println!(
        "  texel operands                {}",
        yes(device.max_texel_vec4s() > 0)
    );
    // Measured here on CPU adapters (a few milliseconds); see StreamReads.
    let reads = match device.stream_reads() {
        shadernet_tensor::StreamReads::Storage => "storage buffers",
        shadernet_tensor::StreamReads::Texels => "texel copies",
    };
    println!("  streaming kernels read        {reads}");
    if device.is_cpu() {
        println!(
            "  {:<29} {}",
            LLVMPIPE_THREADS_VAR,
            lp_num_threads(&device)
                .as_deref()
                .unwrap_or("unset (one thread per CPU)")
        );
    }
    Ok(())
}

/// `LP_NUM_THREADS` on a CPU adapter: read by llvmpipe/lavapipe when it loaded
/// (`shadernet` sets it unless it was set; see `oversubscribe_llvmpipe`).
fn lp_num_threads(device: &Device) -> Option<String> {
    device
        .is_cpu()
        .then(|| std::env::var(LLVMPIPE_THREADS_VAR).ok())
        .flatten()
}
