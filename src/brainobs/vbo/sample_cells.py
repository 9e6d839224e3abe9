"""The cells of a simulated field of view: where they are and how they respond.

A container's cells are drawn once and keep their ``cell_specimen_id``, position and response
properties in every session of the container; each session's segmentation finds most of them
(:func:`detected_cells`). Responses follow the published picture of the three populations
(Garrett et al. 2023, the dataset's paper), in events/s added to a cell's baseline rate:

* excitatory (Slc17a7) cells are image selective (one preferred image per image set), respond
  more to image changes than to repeats, barely respond to omissions, and respond more to novel
  images;
* Sst cells respond to most images, weakly modulated by change, and much more in novel sessions;
* Vip cells respond weakly to images and are suppressed at changes, ramp up during omitted
  flashes, and in novel sessions respond more to images and less to omissions.

"Novel 1" (the first session with the novel image set) carries a cell's full novelty gains,
"Novel >1" half of them; familiar sessions none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.vbo.sample_design import FOV_SHAPE, ContainerPlan


@dataclass(frozen=True)
class LineResponses:
    """Distributions of a line's response properties (means; spread is drawn around them)."""

    responsive: float  # fraction of cells with image responses
    baseline: float  # events/s
    image_amplitude: float  # events/s at the preferred image
    non_preferred: tuple[float, float]  # range of the other images' relative responses
    change_gain: float
    omission_amplitude: float  # events/s at the end of an omitted flash
    novelty_gain: float  # image responses, Novel 1 vs familiar
    omission_novelty_gain: float  # omission responses, Novel 1 vs familiar
    event_size: float  # dF/F of one event
    decay: float  # s, decay of the calcium indicator


LINE_RESPONSES: dict[str, LineResponses] = {
    "Slc17a7": LineResponses(0.55, 0.12, 5.0, (0.0, 0.25), 2.0, 0.15, 2.0, 1.0, 0.45, 0.4),
    "Sst": LineResponses(0.85, 0.5, 3.5, (0.4, 0.9), 1.15, 0.4, 2.2, 1.0, 0.35, 0.4),
    "Vip": LineResponses(0.75, 0.9, 1.6, (0.5, 1.0), 0.5, 5.0, 3.0, 0.4, 0.35, 0.4),
}
#: Columns of the ground truth of one cell.
CELL_TRUTH_COLUMNS = (
    "cell_specimen_id", "ophys_container_id", "mouse_id", "cre_line", "line",
    "targeted_structure", "depth", "responsive", "baseline_rate", "image_amplitude",
    "preferred_image_familiar", "preferred_image_novel", "change_gain", "omission_amplitude",
    "novelty_gain", "omission_novelty_gain", "event_size", "decay", "noise_std",
)  # fmt: skip
CELL_RADIUS_PX = (5.0, 7.5)
DETECTION_PROBABILITY = 0.88


def container_cells(
    container: ContainerPlan, familiar: list[str], novel: list[str]
) -> pd.DataFrame:
    """Return the cells of ``container``: ids, shapes in the field of view, responses, tuning.

    ``familiar`` and ``novel`` are the image names of the project's two image sets; the
    ``tuning_<image>`` columns hold each image's response relative to the preferred one.
    """
    rng = np.random.default_rng([container.seed, 3])
    n = container.n_cells
    design = LINE_RESPONSES[container.line]
    table = pd.DataFrame({
        "cell_specimen_id": container.first_cell_specimen_id + np.arange(n, dtype=np.int64),
        "ophys_container_id": container.ophys_container_id,
        "mouse_id": container.mouse.mouse_id, "cre_line": container.mouse.cre_line,
        "line": container.line, "targeted_structure": container.plane.structure,
        "depth": container.plane.depth,
    })  # fmt: skip
    table = pd.concat([table, _shapes(rng, n), _responses(rng, n, design)], axis=1)
    for role, images in (("familiar", familiar), ("novel", novel)):
        tuning = _tuning(rng, n, len(images), design)
        table[f"preferred_image_{role}"] = np.asarray(images)[np.argmax(tuning, axis=1)]
        for k, name in enumerate(images):
            table[f"tuning_{name}"] = tuning[:, k]
    return table


def _shapes(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Return each cell's ellipse in the field of view (centre, semi-axes, angle) and brightness."""
    height, width = FOV_SHAPE
    grid = 18
    cols = (width - 2 * grid) // grid
    slots = rng.choice(cols * ((height - 2 * grid) // grid), size=n, replace=False)
    cy = grid + (slots // cols) * grid + rng.uniform(-3, 3, n)
    cx = grid + (slots % cols) * grid + rng.uniform(-3, 3, n)
    touching = rng.random(n) < 0.04  # a few cells overlap a neighbour, as in real segmentations
    cx = np.where(touching, cx + grid * 0.6, cx)
    return pd.DataFrame({
        "center_x": cx, "center_y": cy,
        "radius_x": rng.uniform(*CELL_RADIUS_PX, n), "radius_y": rng.uniform(*CELL_RADIUS_PX, n),
        "angle": rng.uniform(0, np.pi, n), "brightness": rng.uniform(0.5, 1.0, n),
        "baseline_fluorescence": rng.lognormal(np.log(250.0), 0.4, n),
    })  # fmt: skip


def _responses(rng: np.random.Generator, n: int, design: LineResponses) -> pd.DataFrame:
    """Return each cell's rates, gains and indicator properties."""
    responsive = rng.random(n) < design.responsive
    spread = rng.lognormal(0.0, 0.3, (6, n))
    return pd.DataFrame({
        "responsive": responsive,
        "baseline_rate": design.baseline * spread[0],
        "image_amplitude": np.where(responsive, design.image_amplitude * spread[1], 0.0),
        "change_gain": design.change_gain * rng.lognormal(0.0, 0.1, n),
        "omission_amplitude": design.omission_amplitude * spread[2],
        "novelty_gain": 1.0 + (design.novelty_gain - 1.0) * spread[3],
        "omission_novelty_gain": design.omission_novelty_gain * rng.lognormal(0.0, 0.1, n),
        "event_size": design.event_size * spread[4],
        "decay": design.decay * rng.lognormal(0.0, 0.15, n),
        "noise_std": 0.06 * spread[5],
        "r": rng.uniform(0.6, 0.9, n),
        "rmse": rng.uniform(0.5, 3.0, n),
        "lambda": rng.uniform(0.01, 0.2, n),
    })  # fmt: skip


def _tuning(rng: np.random.Generator, n: int, n_images: int, design: LineResponses) -> np.ndarray:
    """Return (cell, image) responses relative to each cell's preferred image (max 1)."""
    tuning = rng.uniform(*design.non_preferred, (n, n_images))
    tuning[np.arange(n), rng.integers(0, n_images, n)] = 1.0
    return tuning


def detected_cells(cells: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Return the cells one session's segmentation finds (most of them), jittered by <= 1 px."""
    rng = np.random.default_rng([seed, 5])
    found = cells[rng.random(len(cells)) < DETECTION_PROBABILITY].copy()
    found["center_x"] += rng.integers(-1, 2, len(found))
    found["center_y"] += rng.integers(-1, 2, len(found))
    return found.reset_index(drop=True)


def roi_masks(cells: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Return the full-FOV boolean masks (ROI x height x width) and their bounding boxes."""
    height, width = FOV_SHAPE
    yy, xx = np.mgrid[0:height, 0:width]
    masks = np.zeros((len(cells), height, width), dtype=bool)
    boxes = []
    # Python floats per cell, as ``itertuples`` gives them
    shapes = [cells[c].tolist() for c in ("center_x", "center_y", "angle", "radius_x", "radius_y")]
    for k, (center_x, center_y, angle, radius_x, radius_y) in enumerate(zip(*shapes, strict=True)):
        x0, x1 = int(center_x - 9), int(center_x + 10)
        y0, y1 = int(center_y - 9), int(center_y + 10)
        dx, dy = xx[y0:y1, x0:x1] - center_x, yy[y0:y1, x0:x1] - center_y
        c, s = np.cos(angle), np.sin(angle)
        u, v = (c * dx + s * dy) / radius_x, (-s * dx + c * dy) / radius_y
        masks[k, y0:y1, x0:x1] = u**2 + v**2 <= 1.0
        rows, cols = np.nonzero(masks[k])
        boxes.append(
            (int(cols.min()), int(rows.min()), int(np.ptp(cols)) + 1, int(np.ptp(rows)) + 1)
        )
    return masks, pd.DataFrame(boxes, columns=["x", "y", "width", "height"])


def mask_image_planes(masks: np.ndarray) -> np.ndarray:
    """Return, per ROI, the lowest mask plane on which it overlaps no earlier ROI."""
    planes = np.zeros(len(masks), dtype=np.int64)
    occupied: list[np.ndarray] = []
    for k, mask in enumerate(masks):
        plane = next((p for p, used in enumerate(occupied) if not (used & mask).any()), None)
        if plane is None:
            occupied.append(np.zeros_like(mask))
            plane = len(occupied) - 1
        occupied[plane] |= mask
        planes[k] = plane
    return planes
