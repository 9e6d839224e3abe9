"""The shape of the package: each release declared once, in its home, and nowhere else.

A release is added by writing its home (``src/brainobs/<name>/``) and one declaration in
``brainobs.releases``. These tests fail when a release is registered anywhere else (a dict
keyed by release names, a class name as a string, a call to the report's run-time hooks), when
a declaration names code outside its home, or when a home imports another release's home.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import brainobs
from brainobs.releases import RELEASES, Release, available_releases

PACKAGE = Path(brainobs.__file__).parent
HOMES = {release.home: release for release in RELEASES.values()}
REGISTRY = PACKAGE / "releases.py"
# The package root lists the public classes for type checkers (TYPE_CHECKING imports and
# __all__); it finds them through the registry at run time, checked below. brainobs.allensdk,
# the drop-in import line, does the same for the drop-in classes.
ROOT = PACKAGE / "__init__.py"
DROPIN = PACKAGE / "allensdk.py"
PUBLIC_ROOTS = ("brainobs", "brainobs.allensdk")


def _modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def _home_of(module: str) -> str | None:
    return next((home for home in HOMES if module == home or module.startswith(home + ".")), None)


def _docstrings(tree: ast.Module) -> set[int]:
    """Return the ids of the string nodes that are docstrings."""
    bodies = (getattr(node, "body", None) for node in ast.walk(tree))
    firsts = [body[:1] for body in bodies if isinstance(body, list)]
    return {
        id(first[0].value)
        for first in firsts
        if first
        and isinstance(first[0], ast.Expr)
        and isinstance(first[0].value, ast.Constant)
        and isinstance(first[0].value.value, str)
    }


def _home_class_names() -> set[str]:
    """Return the names of the objects the release declarations name (classes, writers...)."""
    return {target.rpartition(":")[2] for r in RELEASES.values() for target in _targets(r)}


def _registration(node: ast.AST, class_names: set[str], docstrings: set[int]) -> str | None:
    """Return why ``node`` registers a release outside its declaration, or None."""
    release_names = set(RELEASES)
    if isinstance(node, ast.Dict):
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        return f"a dict keyed by release names {keys}" if keys & release_names else None
    if isinstance(node, ast.Compare):
        texts = {c.value for c in ast.walk(node) if isinstance(c, ast.Constant)}
        return "compares with a release name" if texts & release_names else None
    if isinstance(node, ast.Call):
        called = getattr(node.func, "attr", getattr(node.func, "id", ""))
        hooks = {"register_kind", "register_section"}
        return "registers a report kind at run time" if called in hooks else None
    names_code = (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and (node.value in class_names or node.value.startswith(tuple(HOMES)))
    )
    return f"names release code as text {node.value!r}" if names_code else None  # type: ignore[attr-defined]


def _registrations(tree: ast.Module, class_names: set[str]) -> list[str]:
    """Return what in ``tree`` registers a release outside its declaration."""
    docstrings = _docstrings(tree)
    found = ((node, _registration(node, class_names, docstrings)) for node in ast.walk(tree))
    return [f"line {getattr(node, 'lineno', '?')}: {why}" for node, why in found if why]


def test_no_release_is_registered_outside_its_declaration() -> None:
    class_names = _home_class_names()
    offenders = {
        str(path.relative_to(PACKAGE)): found
        for module, path, tree in _modules()
        if path not in (REGISTRY, ROOT, DROPIN) and _home_of(module) is None
        for found in [_registrations(tree, class_names)]
        if found
    }
    assert offenders == {}


def _imported_modules(tree: ast.Module, module: str) -> Iterator[str]:
    """Yield every module ``tree`` imports, statically or through importlib with a literal."""
    package = module if tree and module.count(".") == 1 else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            else:
                yield node.module or ""
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield str(node.args[0].value)


def test_no_home_imports_another_home() -> None:
    crossings = []
    for module, _, tree in _modules():
        home = _home_of(module)
        for imported in _imported_modules(tree, module):
            other = _home_of(imported)
            if home is not None and other is not None and other != home:
                crossings.append(f"{module} imports {imported}")
    assert crossings == []


def test_shared_layers_import_no_home() -> None:
    crossings = []
    for module, _, tree in _modules():
        if _home_of(module) is not None or module in PUBLIC_ROOTS:
            continue  # the public roots re-export the public classes lazily
        crossings += [
            f"{module} imports {imported}"
            for imported in _imported_modules(tree, module)
            if _home_of(imported) is not None
        ]
    assert crossings == []


def _targets(release: Release) -> list[str]:
    targets = [release.cache_class, *release.session_classes, *release.report_kinds.values()]
    targets += release.dropin_session_classes
    optional = (
        release.sample_writer,
        release.tour,
        release.summaries,
        release.dandi_mapping,
        release.dropin_cache_class,
    )
    return targets + [t for t in optional if t is not None]


@pytest.mark.parametrize("release", available_releases(), ids=lambda r: r.name)
def test_a_declaration_names_code_in_its_home_or_in_shared_layers(release: Release) -> None:
    for target in _targets(release):
        module = target.partition(":")[0]
        assert _home_of(module) in (None, release.home), f"{target} is in another home"
        assert release.load(target) is not None


@pytest.mark.parametrize("release", available_releases(), ids=lambda r: r.name)
def test_every_class_of_a_home_that_serves_users_is_declared(release: Release) -> None:
    from brainobs.report.registry import SHARED_KINDS
    from brainobs.sessions.project_cache import ProjectCache

    declared = {
        release.load_cache_class(),
        *release.load_session_classes(),
        *release.load_dropin_classes(),
    }
    for module, _, _ in _modules():
        if _home_of(module) != release.home:
            continue
        for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass):
            if cls.__module__ != module:
                continue
            if issubclass(cls, ProjectCache) or isinstance(getattr(cls, "report_kind", None), str):
                assert cls in declared, f"{cls.__name__} is not in the {release.name} declaration"
    dropin_sessions = [c for c in release.load_dropin_classes() if hasattr(c, "report_kind")]
    for cls in (*release.load_session_classes(), *dropin_sessions):
        kind = cls.report_kind
        assert kind in release.report_kinds or kind in SHARED_KINDS, kind


def test_the_public_api_is_importable_from_the_package() -> None:
    for name in brainobs.__all__:
        assert getattr(brainobs, name) is not None
    for release in available_releases():
        for target in (release.cache_class, *release.session_classes):
            name = target.rpartition(":")[2]
            assert name in brainobs.__all__ and getattr(brainobs, name) is release.load(target)
    from brainobs import (
        BehaviorEcephysSession,
        BehaviorSession,
        VisualBehaviorNeuropixelsProjectCache,
    )

    assert VisualBehaviorNeuropixelsProjectCache.RELEASE is RELEASES["vbn"]
    assert issubclass(BehaviorEcephysSession, BehaviorSession)


def test_the_dropin_api_is_importable_from_brainobs_allensdk() -> None:
    import brainobs.allensdk as dropin

    for name in dropin.__all__:
        assert getattr(dropin, name) is not None
    for release in available_releases():
        for cls in release.load_dropin_classes():
            assert getattr(dropin, cls.__name__) is cls
    assert dropin.VisualBehaviorNeuropixelsProjectCache is not (
        brainobs.VisualBehaviorNeuropixelsProjectCache
    )


def test_import_paths_the_docs_once_showed_still_work() -> None:
    from brainobs.releases import VBN
    from brainobs.storage.cache import ReleaseCache
    from brainobs.storage.sources import make_fetcher
    from brainobs.tables.filters import filter_units

    assert VBN.name == "vbn" and callable(make_fetcher) and callable(filter_units)
    assert ReleaseCache.__module__ == "brainobs.storage.cache"
    with pytest.warns(DeprecationWarning, match="from brainobs import"):
        from brainobs.sessions.vbn_cache import VisualBehaviorNeuropixelsProjectCache as Old
    assert Old is brainobs.VisualBehaviorNeuropixelsProjectCache
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from brainobs.sample import write_vbn_release  # noqa: F401
    assert "write_release('vbn'" in str(caught[0].message)
