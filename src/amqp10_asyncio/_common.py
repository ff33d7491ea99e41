"""What the asyncio adapter's modules share: awaitable openings."""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Opening"]


class _AsyncClosable(Protocol):
    async def __aexit__(self, *exc: object) -> None: ...


T = TypeVar("T", bound=_AsyncClosable)


class Opening(Generic[T]):
    """Something being opened: ``x = await opening`` or ``async with opening as x``.

    The ``async with`` form closes it on exit.
    """

    __slots__ = ("_coro", "_obj")

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro
        self._obj: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._coro.__await__()

    async def __aenter__(self) -> T:
        self._obj = await self._coro
        return self._obj

    async def __aexit__(self, *exc: object) -> None:
        if self._obj is not None:
            await self._obj.__aexit__(*exc)

