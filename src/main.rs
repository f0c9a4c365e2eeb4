//! The `shadernet` command line: see `shadernet --help` and docs in README.md.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shadernet::tensor::{list_adapters, AdapterSummary, Device};

#[derive(Parser)]
#[command(
    name = "shadernet",
    version,
    about = "Convolutional networks on any GPU, every op a WGSL compute shader"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every adapter, the chosen one, and the limits and features that matter.
    Info {
        /// Adapter to choose: index from this listing or a name substring.
        #[arg(long)]
        device: Option<String>,
        /// Print one JSON object on the last line.
        #[arg(long)]
        json: bool,
    },
    /// Time each kernel family on a fixed list of shapes (GFLOP/s, GB/s).
    Bench {
        /// Only kernel families whose op name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Adapter to use: index or name substring (see `shadernet info`).
        #[arg(long)]
        device: Option<String>,
        /// Seconds to spend timing each shape.
        #[arg(long, default_value_t = 0.5)]
        seconds: f64,
        /// Print a JSON array on the last line.
        #[arg(long)]
        json: bool,
    },
}

/// An error a user caused (bad argument or input): exit code 2.
#[derive(Debug)]
struct UserError(String);
impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UserError {}

fn open_device(selector: Option<&str>) -> anyhow::Result<Device> {
    match Device::new(selector) {
        Ok(d) => Ok(d),
        Err(e @ shadernet::Error::AdapterNotFound { .. }) => Err(UserError(e.to_string()).into()),
        Err(e) => Err(e).context("opening the GPU device"),
    }
}

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
        "f16": a.features.contains(shadernet::tensor::wgpu::Features::SHADER_F16),
    })
}

fn info(selector: Option<&str>, json: bool) -> anyhow::Result<()> {
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
            serde_json::json!({ "adapters": all, "chosen": chosen.index })
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
        mib(u64::from(l.max_storage_buffer_binding_size))
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
            .contains(shadernet::tensor::wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES))
    );
    println!(
        "  f16 in shaders                {}",
        yes(chosen
            .features
            .contains(shadernet::tensor::wgpu::Features::SHADER_F16))
    );
    Ok(())
}

fn bench(
    filter: Option<&str>,
    selector: Option<&str>,
    seconds: f64,
    json: bool,
) -> anyhow::Result<()> {
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(UserError(format!(
            "--seconds must be a positive number, got {seconds}"
        ))
        .into());
    }
    let device = open_device(selector)?;
    eprintln!(
        "bench on {} ({})",
        device.adapter().name,
        device.adapter().backend
    );
    if !json {
        println!(
            "{:<18} {:<16} {:<28} {:>10} {:>10} {:>9}",
            "op", "variant", "shape", "ms", "GFLOP/s", "GB/s"
        );
    }
    let results = shadernet::bench::run(&device, filter, seconds, |r| {
        if !json {
            let shape: Vec<String> = r.shape.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "{:<18} {:<16} {:<28} {:>10.3} {:>10.2} {:>9.2}",
                r.op,
                r.variant,
                shape.join(" "),
                r.ms,
                r.gflops,
                r.gbs
            );
        }
    })?;
    if results.is_empty() {
        return Err(UserError(format!(
            "no kernel family matches --filter {}",
            filter.unwrap_or("")
        ))
        .into());
    }
    if json {
        let all: Vec<_> = results.iter().map(|r| r.to_json()).collect();
        println!("{}", serde_json::Value::Array(all));
    }
    Ok(())
}

fn main() -> ExitCode {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa warns about a missing runtime dir on every start; point it at a private one.
        let dir = std::env::temp_dir().join(format!("shadernet-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            // Set before any thread is spawned.
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match &cli.command {
        Command::Info { device, json } => info(device.as_deref(), *json),
        Command::Bench {
            filter,
            device,
            seconds,
            json,
        } => bench(filter.as_deref(), device.as_deref(), *seconds, *json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let user = e.downcast_ref::<UserError>().is_some();
            eprintln!("error: {e:#}");
            ExitCode::from(if user { 2 } else { 1 })
        }
    }
}
