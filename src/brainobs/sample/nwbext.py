"""The NWB extension types the Visual Behavior files use, loaded into pynwb.

The namespaces are YAML files in ``brainobs/sample/specs``. They are registered with pynwb once
per process (:func:`load_extensions`) and their container classes are returned by
:func:`extension_class`; pynwb generates the classes from the specs. A file caches the
namespaces its release's files cache: :data:`NAMESPACES` (the VBN files, the default) or
:data:`OPHYS_FILE_NAMESPACES` (the VBO imaging files).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

#: Extension namespaces the VBN files cache and the namespace file of each, in load order.
NAMESPACES: dict[str, str] = {
    "ndx-aibs-ecephys": "ndx-aibs-ecephys.namespace.yaml",
    "ndx-aibs-behavior-ophys": "ndx-aibs-behavior-ophys.namespace.yaml",
    "ndx-ellipse-eye-tracking": "ndx-ellipse-eye-tracking.namespace.yaml",
    "ndx-aibs-stimulus-template": "ndx-aibs-stimulus-template.namespace.yaml",
}
#: Namespaces only the imaging (VBO) files use.
OPHYS_NAMESPACES: dict[str, str] = {
    "ndx-aibs-ophys-event-detection": "ndx-aibs-ophys-event-detection.namespace.yaml",
}
#: Namespaces cached by the VBO files: imaging files, and behavior-only files.
OPHYS_FILE_NAMESPACES = (
    "ndx-aibs-behavior-ophys", "ndx-aibs-ophys-event-detection",
    "ndx-aibs-stimulus-template", "ndx-ellipse-eye-tracking",
)  # fmt: skip
BEHAVIOR_FILE_NAMESPACES = ("ndx-aibs-behavior-ophys", "ndx-aibs-stimulus-template")

#: The namespace that defines each extension type.
TYPE_NAMESPACE: dict[str, str] = {
    "EcephysProbe": "ndx-aibs-ecephys",
    "EcephysElectrodeGroup": "ndx-aibs-ecephys",
    "EcephysSpecimen": "ndx-aibs-ecephys",
    "EcephysEyeTrackingRigMetadata": "ndx-aibs-ecephys",
    "EcephysCSD": "ndx-aibs-ecephys",
    "BehaviorTaskParameters": "ndx-aibs-behavior-ophys",
    "BehaviorSubject": "ndx-aibs-behavior-ophys",
    "BehaviorMetadata": "ndx-aibs-behavior-ophys",
    "OphysBehaviorMetadata": "ndx-aibs-behavior-ophys",
    "OphysEyeTrackingRigMetadata": "ndx-aibs-behavior-ophys",
    "OphysEventDetection": "ndx-aibs-ophys-event-detection",
    "EllipseSeries": "ndx-ellipse-eye-tracking",
    "EllipseEyeTracking": "ndx-ellipse-eye-tracking",
    "StimulusTemplate": "ndx-aibs-stimulus-template",
}


def spec_dir() -> Path:
    """Return the folder holding the shipped specification files."""
    return Path(str(resources.files("brainobs.sample") / "specs"))


@functools.lru_cache(maxsize=1)
def load_extensions() -> tuple[str, ...]:
    """Register every shipped extension namespace with pynwb; return their names."""
    import pynwb

    for name, file_name in {**NAMESPACES, **OPHYS_NAMESPACES}.items():
        try:
            pynwb.get_type_map().namespace_catalog.get_namespace(name)
        except KeyError:
            pynwb.load_namespaces(str(spec_dir() / file_name))
    return (*NAMESPACES, *OPHYS_NAMESPACES)


@functools.lru_cache(maxsize=1)
def shared_type_map() -> Any:
    """Return one copy of pynwb's type map with the extensions, shared by every write.

    ``pynwb.get_type_map()`` deep-copies the map (tens of ms) on each call; the simulator
    never changes it, so one copy serves all files. The extension classes are generated
    first: a copy taken before a class exists would write its objects as the core base type.
    """
    import pynwb

    load_extensions()
    for type_name, namespace in TYPE_NAMESPACE.items():
        pynwb.get_class(type_name, namespace)
    return pynwb.get_type_map()


def extension_class(type_name: str) -> Any:
    """Return the pynwb container class of extension type ``type_name``."""
    import pynwb

    load_extensions()
    return pynwb.get_class(type_name, TYPE_NAMESPACE[type_name])
