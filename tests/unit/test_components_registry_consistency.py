"""The component registry (parity.components) against its consumers and the pyreterms adapter (no R); against
lme4 through r_scripts/reference.R: tests/live/test_components_registry.py."""
from __future__ import annotations

import pytest

from parity import components
from parity.adapter.pyreterms_fit import OPTIMIZER_OUTPUTS
from parity.adapter.pyreterms_lformula import pyreterms_impl
from parity.compare.check import required_components
from parity.compare.tolerances import META, TOLERANCE_OF_CLASS, tolerance_for

FORMULA = "Reaction ~ Days + (Days | Subject)"


def test_registry_is_consistent() -> None:
    assert set(TOLERANCE_OF_CLASS) == set(components.TOLERANCE_CLASSES)
    for c in components.COMPONENTS.values():
        assert tolerance_for(c.name) is TOLERANCE_OF_CLASS[c.tolerance]
        assert not components.is_rule_input(c.name), c.name
    assert set(OPTIMIZER_OUTPUTS) == {c.name for c in components.COMPONENTS.values() if c.optimizer_output}
    assert META == {c.name for c in components.COMPONENTS.values() if c.kind != "value"}
    assert required_components("lformula") < required_components("fit")
    assert all(components.COMPONENTS[n].level == "lformula" for n in required_components("lformula"))


@pytest.mark.parametrize("level", ["lformula", "fit"])
def test_pyreterms_adapter_produces_every_registered_value(sleepstudy, level: str) -> None:
    py = pyreterms_impl(FORMULA, sleepstudy, level=level, theta=[1.0, 0.0, 1.0] if level == "fit" else None)
    want = set(components.names(level, "value")) | set(components.names(level, "condition"))
    assert set(py) == want, (sorted(want - set(py)), sorted(set(py) - want))


def test_reports_list_components_in_lme4s_order_not_alphabetically():
    """in_order: the registry's order (reference.R's), unknown names after the known ones, as given."""
    from parity.components import COMPONENTS, in_order

    known = list(COMPONENTS)[:6]
    shuffled = ["zz unknown", known[4], "aa unknown", known[1], known[5], known[0]]
    assert in_order(shuffled) == [known[0], known[1], known[4], known[5], "zz unknown", "aa unknown"]
    assert in_order(sorted(COMPONENTS)) == list(COMPONENTS)
    assert list(COMPONENTS) != sorted(COMPONENTS)  # otherwise this test could not tell the orders apart


@pytest.mark.parametrize("level", ["lformula", "fit"])
def test_dev_fun_only_component_only_with_the_argument(sleepstudy, level: str) -> None:
    """lmer(devFunOnly = TRUE): the adapter adds exactly the registered component, at the fit level."""
    from parity.r.rcall import active, parse_lmer_call

    with active(parse_lmer_call(f"lmer({FORMULA}, data = d, devFunOnly = TRUE)")):
        py = pyreterms_impl(FORMULA, sleepstudy, level=level, theta=[1.0, 0.0, 1.0] if level == "fit" else None)
    want = set(components.names(level, "value", ["devFunOnly"])) | set(components.names(level, "condition"))
    assert set(py) == want, (sorted(want - set(py)), sorted(set(py) - want))
    assert (components.DEVFUN_ONLY in py) == (level == "fit")
    if level == "fit":  # the function's values at theta, theta/2, 2*theta and the start (1, 0, 1)
        v = py[components.DEVFUN_ONLY].x
        assert len(v) == 4 and v[0] == v[3] == py["devfun(theta)"].x[0]


def test_verbose_component_only_with_the_argument(sleepstudy) -> None:
    """lmer(verbose = 1): the adapter adds the printed lines (nloptwrap's iterations), at the fit level."""
    from parity.r.rcall import active, parse_lmer_call

    with active(parse_lmer_call(f"lmer({FORMULA}, data = d, verbose = 1)")):
        py = pyreterms_impl(FORMULA, sleepstudy, level="fit", theta=[1.0, 0.0, 1.0])
    want = set(components.names("fit", "value", ["verbose"])) | set(components.names("fit", "condition"))
    assert set(py) == want, (sorted(want - set(py)), sorted(set(py) - want))
    lines = list(py[components.VERBOSE_OUTPUT].x)
    assert lines[0] == "iteration: 1" and lines[1].startswith("\tf(x) = ") and len(lines) % 2 == 0
    assert components.VERBOSE_OUTPUT not in components.names("fit", "value", ["devFunOnly"])
