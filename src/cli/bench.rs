//! `shadernet bench`: GFLOP/s and GB/s per kernel family on a fixed list of shapes.

use super::common::{open_device_for_speed, user};

pub fn run(
    filter: Option<&str>,
    selector: Option<&str>,
    seconds: f64,
    json: bool,
) -> anyhow::Result<()> {
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(user(format!(
            "--seconds must be a positive number, got {seconds}"
        )));
    }
    let device = open_device_for_speed(selector)?;
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
    })
    .map_err(super::common::tensor_error)?;
    if results.is_empty() {
        return Err(user(format!(
            "no kernel family matches --filter {}",
            filter.unwrap_or("")
        )));
    }
    if json {
        let all: Vec<_> = results.iter().map(|r| r.to_json()).collect();
        println!("{}", serde_json::Value::Array(all));
    }
    Ok(())
}
