"""Figures: written as PNG, SVG and PDF in the house style, byte-identical run to run; labels never overlap."""

from matplotlib.figure import Figure

from accelsim import plots


@plots.styled
def _figure(labels):
    fig = Figure(figsize=(4, 3), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([1, 2], [1, 2])
    texts = [ax.annotate(text, (1.5, 1.5), xytext=(3, 2), textcoords="offset points") for text in labels]
    return fig, texts


def test_every_figure_is_png_svg_and_pdf_and_the_same_twice(tmp_path):
    fig, _ = _figure(["a"])
    first = plots.save_figure(fig, tmp_path / "one.png")
    assert first == tmp_path / "one.png" and first.read_bytes()[:4] == b"\x89PNG"
    svg = first.with_suffix(".svg").read_text()
    assert "<text" in svg or "font-family" in svg  # text stays text
    assert first.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    fig, _ = _figure(["a"])
    again = plots.save_figure(fig, tmp_path / "two.png")
    for suffix in (".png", ".svg", ".pdf"):
        assert first.with_suffix(suffix).read_bytes() == again.with_suffix(suffix).read_bytes()


def test_declutter_separates_labels_at_one_point():
    fig, texts = _figure(["first label", "second label", "third label"])
    plots.declutter(fig, texts)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    assert texts[0].xyann == (3, 2)  # the first keeps its place
