"""A VBN sample of many small sessions, for dataset-wide work (``write_vbn_release(sessions=N)``).

The size is the default one with less in each session: N/2 mice (Sst, Vip and wild type in
turn), each with its training history (one-minute behaviour-only sessions) and its two
recording days, familiar image set G then novel set H, of ~50 units on 6 probes with LFP of the
full-field flashes on one probe of the Sst mice, and short gray screens. A session file is a
few MB and takes seconds to write, so tens of sessions are written and summarised in minutes.
"""

from __future__ import annotations

from dataclasses import replace

from brainobs.errors import InvalidInputError
from brainobs.vbn.sample_design import SIZES, SizeSpec

#: Genotypes of the mice, in turn.
GENOTYPE_CYCLE = ("Sst", "Vip", "wt")


def many_sessions_size(n_sessions: int) -> SizeSpec:
    """Return the size with ``n_sessions`` small ecephys sessions (two per mouse)."""
    if not isinstance(n_sessions, int) or n_sessions < 2 or n_sessions % 2:
        raise InvalidInputError(
            f"sessions={n_sessions!r}: pass an even number of sessions >= 2 (each mouse is "
            "recorded twice, on a familiar and a novel image set), e.g. sessions=10."
        )
    mice = n_sessions // 2
    return replace(
        SIZES["default"],
        name=f"sessions-{n_sessions}",
        genotypes=tuple(GENOTYPE_CYCLE[i % len(GENOTYPE_CYCLE)] for i in range(mice)),
        behavior_minutes=1.0,
        habituation_minutes=1.0,
        active_flashes=150,
        gray_seconds=(2.0, 5.0),
        units_per_probe=8,
        n_full_field_flashes=10,
        opto_repeats=8,
        lfp_probe_names=("probeC",),
        lfp_windows=(),
        abnormal_sessions=0,
        dense_probes=(),
    )
