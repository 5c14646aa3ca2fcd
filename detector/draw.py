"""Drawing detections on images (Pillow), for the PNG pictures the commands save. The page draws
its own boxes in SVG with the same palette."""

from PIL import Image, ImageDraw

# One colour per class index (cycled); static/detector/detect.js uses the same list.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4",
    "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000", "#ffd8b1", "#000075",
    "#a9a9a9", "#ffe119",
)


def colour_for(class_names, label):
    index = list(class_names).index(label) if label in class_names else 0
    return PALETTE[index % len(PALETTE)]


def draw_detections(image, detections, class_names, width=2):
    """A copy of an RGB image with a labelled box per Detection (boxes in the image's pixels)."""
    canvas = image.convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    for detection in detections:
        colour = colour_for(class_names, detection.label)
        x0, y0, x1, y1 = detection.box
        draw.rectangle([x0, y0, x1, y1], outline=colour, width=width)
        text = f"{detection.label} {detection.score:.2f}"
        left, top, right, bottom = draw.textbbox((x0, y0), text)
        tag_top = y0 - (bottom - top) - 4 if y0 >= (bottom - top) + 4 else y0
        draw.rectangle([x0, tag_top, x0 + (right - left) + 4, tag_top + (bottom - top) + 4], fill=colour)
        draw.text((x0 + 2, tag_top + 1), text, fill="#000" if _light(colour) else "#fff")
    return canvas


def _light(colour):
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b > 150


def detection_grid(images, detections, class_names, path, columns=4, cell=256):
    """Save a PNG grid of images with their detections drawn (each scaled to fit cell × cell)."""
    rows = max(1, -(-len(images) // columns))
    grid = Image.new("RGB", (columns * cell, rows * cell), "white")
    for index, (image, found) in enumerate(zip(images, detections)):
        drawn = draw_detections(image, found, class_names)
        drawn.thumbnail((cell - 4, cell - 4))
        grid.paste(drawn, ((index % columns) * cell + 2, (index // columns) * cell + 2))
    grid.save(path)
    return path
