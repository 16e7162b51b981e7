//! The chart of `make bench`: bfc's time over the optimising C's, per
//! program and mode, and bfc's over the scalar C reference's, per idiom and
//! length; horizontal bars on a log scale, 1 marked (left of it bfc is
//! faster). An SVG from plotters (no fonts: the SVG names sans-serif).

use std::path::Path;

use plotters::prelude::*;

/// One bar: a label and a ratio.
pub struct Bar {
    pub label: String,
    pub ratio: f64,
    /// Which colour: 0 jit, 1 exe.
    pub series: usize,
}

const COLOURS: [RGBColor; 2] = [RGBColor(0x3b, 0x6e, 0xa8), RGBColor(0xe0, 0x8a, 0x2c)];
const ROW: u32 = 16;

pub fn draw(path: &Path, title: &str, panels: &[(&str, Vec<Bar>)]) -> Result<(), String> {
    let heights: Vec<u32> = panels.iter().map(|(_, bars)| 90 + ROW * bars.len().max(1) as u32).collect();
    let total: u32 = 40 + heights.iter().sum::<u32>();
    let root = SVGBackend::new(path, (1000, total)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (head, mut rest) = root.split_vertically(40);
    head.draw_text(title, &("sans-serif", 18).into_font().color(&BLACK), (10, 12)).map_err(|e| e.to_string())?;
    for ((caption, bars), &height) in panels.iter().zip(&heights) {
        let (area, below) = rest.split_vertically(height);
        rest = below;
        panel(&area, caption, bars).map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    bars: &[Bar],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (lo, hi) = bars.iter().fold((0.5f64, 2.0f64), |(lo, hi), b| (lo.min(b.ratio), hi.max(b.ratio)));
    let (lo, hi) = (lo / 1.3, hi * 1.3);
    let rows = bars.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(260)
        .build_cartesian_2d((lo..hi).log_scale(), (0..rows).into_segmented())
        .map_err(err)?;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("time / baseline (log scale; below 1: bfc faster)")
        .label_style(("sans-serif", 11))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let mut bar = Rectangle::new(
                [(lo, SegmentValue::Exact(i)), (b.ratio, SegmentValue::Exact(i + 1))],
                COLOURS[b.series % 2].filled(),
            );
            bar.set_margin(2, 2, 0, 0);
            bar
        }))
        .map_err(err)?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Exact(rows))],
            BLACK.stroke_width(1),
        )))
        .map_err(err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(format!("{:.2}", b.ratio), (b.ratio * 1.02, SegmentValue::Exact(i)), ("sans-serif", 10))
        }))
        .map_err(err)?;
    Ok(())
}
