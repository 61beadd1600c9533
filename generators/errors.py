"""The one family of input errors: bad usage, configuration or input data (exit 2 at the command line).

Every package raises its own subclass of :class:`InputError` (``ChainError``, ``TableError``, ``RunError``,
``ImportError_``, ``UsageError``, ...); the CLI maps the whole family to exit 2 in one place
(``anonbench.cli``), printing the first line of the message. A message names the file, key or column at
fault and never a raw value or a secret. An exception outside the family is a bug (exit 3 at the CLI).

It lives here because ``generators`` is the root of the package graph (DESIGN.md: ``anonbench -> pipelines
-> {generators, anonymizers, reid, expectations}``, and the Beam-free packages import ``generators``): every
package can import it without importing Beam, ``pipelines`` or ``anonbench``.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad usage, configuration or input (exit 2): one line naming the file, key or column at fault."""


__all__ = ["InputError"]
