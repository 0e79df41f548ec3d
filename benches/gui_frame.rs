//! Frame time of the visualizer's own work (model, scene entities, egui
//! panels; not the renderer) with a generated network of 200 nodes and
//! about a thousand packets on the wire. Budget: 4 ms per frame.
//!
//! `cargo bench --bench gui_frame`

fn main() {
    let frames = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(600);
    println!("gui_frame: {}", wiretale::gui::bench::describe(frames));
}
