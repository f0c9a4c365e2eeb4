//! `train --plot FILE.png`: loss and accuracy curves, redrawn after every
//! epoch with plotters (bitmap backend, text in DejaVu Sans embedded in the
//! binary, so no system font is needed).
//!
//! Left panel, loss against epochs: the loss of every step (thin, light),
//! the mean training loss of each epoch and the test loss (lines with
//! points). Right panel, accuracy: training accuracy of each epoch (counted
//! during the steps) and test accuracy. The PNG is written to a temporary
//! file and renamed over the target, so a viewer never sees half an image.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::train::History;

/// Width and height of the image in pixels.
pub const SIZE: (u32, u32) = (1200, 480);

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const TEST: RGBColor = RGBColor(255, 127, 14);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // DejaVu Sans is a valid TrueType font; registration cannot fail.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Draws `history` (a run with `steps_per_epoch` steps per epoch) under
/// `title` and writes it to `path` as a PNG, atomically.
pub fn draw(
    history: &History,
    steps_per_epoch: usize,
    title: &str,
    path: &Path,
) -> Result<(), String> {
    register_font();
    let (w, h) = SIZE;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    render(history, steps_per_epoch.max(1) as f64, title, &mut buf)
        .map_err(|e| format!("drawing the plot failed: {e}"))?;
    write_png(&buf, w, h, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_png(buf: &[u8], w: u32, h: u32, path: &Path) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| "the path does not name a file".to_string())?
        .to_string_lossy()
        .into_owned();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = image::save_buffer_with_format(
        &tmp,
        buf,
        w,
        h,
        image::ColorType::Rgb8,
        image::ImageFormat::Png,
    )
    .map_err(|e| e.to_string())
    .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Upper end of a y axis: the largest value, with 30% headroom for the
/// legend; when a few steps spike far above the rest (a divergence), the
/// 98th percentile of `robust` instead, so the rest of the curve stays legible.
fn y_top(values: &[f64], robust: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = robust.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let q = sorted
        .get(sorted.len().saturating_sub(1) * 98 / 100)
        .copied()
        .unwrap_or(0.0);
    let max = sorted.last().copied().unwrap_or(0.0);
    let steps_top = if max > 5.0 * q { q } else { max };
    let top = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(steps_top, f64::max);
    if top > 0.0 {
        top * 1.3
    } else {
        1.0
    }
}

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

fn render(history: &History, spe: f64, title: &str, buf: &mut [u8]) -> DrawResult<()> {
    let root = BitMapBackend::with_buffer(buf, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22).into_font().color(&BLACK))?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);

    let steps: Vec<(f64, f64)> = history
        .step_losses
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_finite())
        .map(|(i, &l)| ((i + 1) as f64 / spe, f64::from(l)))
        .collect();
    let at = |step: usize| step as f64 / spe;
    let epochs = &history.epochs;
    let train_loss: Vec<(f64, f64)> = epochs
        .iter()
        .filter(|e| e.train_loss.is_finite())
        .map(|e| (at(e.step), e.train_loss))
        .collect();
    let test_loss: Vec<(f64, f64)> = epochs
        .iter()
        .filter_map(|e| e.test.map(|t| (at(e.step), t.loss)))
        .filter(|p| p.1.is_finite())
        .collect();
    let train_acc: Vec<(f64, f64)> = epochs
        .iter()
        .filter(|e| e.train_accuracy.is_finite())
        .map(|e| (at(e.step), e.train_accuracy))
        .collect();
    let test_acc: Vec<(f64, f64)> = epochs
        .iter()
        .filter_map(|e| e.test.map(|t| (at(e.step), t.accuracy)))
        .filter(|p| p.1.is_finite())
        .collect();

    let x_max = steps
        .iter()
        .chain(&train_loss)
        .map(|p| p.0)
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.03;
    let loss_values: Vec<f64> = train_loss.iter().chain(&test_loss).map(|p| p.1).collect();
    let step_values: Vec<f64> = steps.iter().map(|p| p.1).collect();
    let y_loss = y_top(&loss_values, &step_values);

    let label_font = ("sans-serif", 15);
    let mut chart = ChartBuilder::on(&left)
        .caption("loss", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0f64..y_loss)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cross-entropy")
        .label_style(label_font)
        .axis_desc_style(label_font)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if !steps.is_empty() {
        chart
            .draw_series(LineSeries::new(
                steps.iter().map(|&(x, y)| (x, y.min(y_loss))),
                TRAIN.mix(0.3).stroke_width(1),
            ))?
            .label("train, each step")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], TRAIN.mix(0.3).stroke_width(1))
            });
    }
    if !train_loss.is_empty() {
        chart
            .draw_series(LineSeries::new(train_loss.clone(), TRAIN.stroke_width(2)).point_size(3))?
            .label("train, epoch mean")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TRAIN.stroke_width(2)));
    }
    if !test_loss.is_empty() {
        chart
            .draw_series(LineSeries::new(test_loss.clone(), TEST.stroke_width(2)).point_size(3))?
            .label("test")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TEST.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(label_font)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;

    let mut chart = ChartBuilder::on(&right)
        .caption("accuracy", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("fraction correct")
        .label_style(label_font)
        .axis_desc_style(label_font)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    if !train_acc.is_empty() {
        chart
            .draw_series(LineSeries::new(train_acc, TRAIN.stroke_width(2)).point_size(3))?
            .label("train")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TRAIN.stroke_width(2)));
    }
    if !test_acc.is_empty() {
        chart
            .draw_series(LineSeries::new(test_acc, TEST.stroke_width(2)).point_size(3))?
            .label("test")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TEST.stroke_width(2)));
    }
    if epochs
        .iter()
        .any(|e| e.train_accuracy.is_finite() || e.test.is_some())
    {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(label_font)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
    }
    root.present()?;
    Ok(())
}
