"""Questions about traced programs (jaxprs) that lamina's compiled paths ask."""

from __future__ import annotations


def reads_last_input(jaxpr) -> bool:
    """Whether ``jaxpr`` (a ``jax.core.Jaxpr``) uses its last input: an equation takes
    it or an output is it. The compiled paths pass the RNG key last and make a fresh
    key only for programs that read it."""
    var = jaxpr.invars[-1]
    return any(v is var for e in jaxpr.eqns for v in e.invars) or any(
        v is var for v in jaxpr.outvars)
