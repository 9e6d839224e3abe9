"""2-photon figures: ROI outlines, aligned heat maps and image responses draw their input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import AxesImage

from brainobs.errors import InvalidInputError
from brainobs.plot.ophys import (
    plot_aligned_heatmap,
    plot_fov_with_rois,
    plot_image_response_heatmap,
    roi_outlines,
)
from brainobs.plot.style import new_figure


def test_roi_outlines_are_the_edges_of_each_mask() -> None:
    masks = np.zeros((2, 8, 8), dtype=bool)
    masks[0, 1:4, 1:4] = True  # a 3 x 3 square: all but its centre is edge
    masks[1, 5:7, 5:8] = True  # a 2 x 3 block: every pixel is edge
    edges = roi_outlines(masks)
    expected = masks[0].copy()
    expected[2, 2] = False
    expected |= masks[1]
    np.testing.assert_array_equal(edges, expected)
    with pytest.raises(InvalidInputError, match="ROI x height x width"):
        roi_outlines(masks[0])


def test_fov_image_with_outlines() -> None:
    image = np.arange(64, dtype=float).reshape(8, 8)
    masks = np.zeros((1, 8, 8), dtype=bool)
    masks[0, 2:5, 2:5] = True
    _, axes = new_figure(1, 1)
    ax = plot_fov_with_rois(image, masks, ax=axes[0, 0], title="FOV")
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 2 and ax.get_title() == "FOV"
    overlay = images[1].get_array()
    assert overlay[2, 2, 3] > 0 and overlay[3, 3, 3] == 0  # edge drawn, inside transparent
    with pytest.raises(InvalidInputError, match="masks are"):
        plot_fov_with_rois(image, np.zeros((1, 4, 4), dtype=bool))


def test_aligned_heatmap_sorts_cells_by_response() -> None:
    time = np.linspace(-1, 1, 21)
    values = np.vstack([np.where(time >= 0, k, 0.0) for k in (1.0, 3.0, 2.0)])
    _, axes = new_figure(1, 1)
    ax = plot_aligned_heatmap(values, time, ax=axes[0, 0])
    shown = ax.get_images()[0].get_array()
    np.testing.assert_array_equal(shown[:, -1], [3.0, 2.0, 1.0])  # largest response on top
    with pytest.raises(InvalidInputError, match="cell x 21 times"):
        plot_aligned_heatmap(values[:, :5], time)


def test_image_response_heatmap_groups_by_preferred_image() -> None:
    per_image = pd.DataFrame(
        {"im1": [0.1, 0.9, 0.2], "im2": [0.8, 0.1, 0.3]},
        index=pd.Index([7, 8, 9], name="cell_specimen_id"),
    )
    _, axes = new_figure(1, 1)
    ax = plot_image_response_heatmap(per_image, ax=axes[0, 0])
    shown = ax.get_images()[0].get_array()
    assert shown[:, 0].argmax() == 0  # the im1 cell first, then im2's by response
    assert [t.get_text() for t in ax.get_xticklabels()] == ["im1", "im2"]
    np.testing.assert_array_equal(shown[1:, 1], [0.8, 0.3])
    with pytest.raises(InvalidInputError, match="no cells"):
        plot_image_response_heatmap(per_image.iloc[:0])
