//! The `shadernet` command line: see `shadernet --help`, README.md and spec/cli.md.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

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

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
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
    /// Train a model on CIFAR-10, (Fashion-)MNIST or a tensors file.
    Train(cli::train::TrainArgs),
    /// Accuracy and mean loss of trained weights over a test split.
    Eval(cli::eval::EvalArgs),
    /// Run a model on an input tensor and write its logits.
    Infer(cli::infer::InferArgs),
    /// Per-kernel GPU time of a forward pass or training step (timestamp queries).
    Profile(cli::profile::ProfileArgs),
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

fn main() -> ExitCode {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa warns about a missing runtime dir on every start; point it at a private one.
        let dir = std::env::temp_dir().join(format!("shadernet-xdg-{}", std::process::id()));
        if std::fs::create_dir_all(&dir).is_ok() {
            // Set before any thread is spawned.
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
    // Also before any thread and before the driver loads: more llvmpipe threads than
    // CPUs (lavapipe's dispatches wait for the slowest of equal shares; cpu_driver.rs).
    shadernet::tensor::oversubscribe_llvmpipe();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match &cli.command {
        Command::Info { device, json } => cli::info::run(device.as_deref(), *json),
        Command::Train(a) => cli::train::run(a),
        Command::Eval(a) => cli::eval::run(a),
        Command::Infer(a) => cli::infer::run(a),
        Command::Profile(a) => cli::profile::run(a),
        Command::Bench {
            filter,
            device,
            seconds,
            json,
        } => cli::bench::run(filter.as_deref(), device.as_deref(), *seconds, *json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let user = e.downcast_ref::<cli::common::UserError>().is_some();
            eprintln!("error: {e:#}");
            ExitCode::from(if user { 2 } else { 1 })
        }
    }
}
