"""Live updates for every open command page of one API process through ONE database
connection: it LISTENs on a command's channel while at least one page follows that command,
and hands each notification to those pages' queues. A connection per open page would let a
few hundred browser tabs take every connection the server has."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

import psycopg
from psycopg import sql

logger = logging.getLogger("concord.console")
# how long the listener waits for notifications before it takes new LISTENs and UNLISTENs
TURN_SECONDS = 0.25
QUEUE_SIZE = 16


def channel_of(command_id: UUID) -> str:
    """The command's notification channel (``concord.command_channel``)."""
    return f"concord_command_{command_id.hex}"


class CommandEvents:
    """Subscriptions to commands' channels, served by one listening connection."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._queues: dict[str, set[asyncio.Queue[None]]] = {}
        self._listening: dict[str, asyncio.Future[None]] = {}
        self._listened: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def subscribe(self, command_id: UUID) -> asyncio.Queue[None]:
        """A queue that receives an item each time the command records an event; it returns
        once the LISTEN has taken effect, so nothing recorded after that is missed."""
        channel = channel_of(command_id)
        queue: asyncio.Queue[None] = asyncio.Queue(QUEUE_SIZE)
        self._queues.setdefault(channel, set()).add(queue)
        if channel not in self._listening:
            self._listening[channel] = asyncio.get_running_loop().create_future()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="concord-console-listener")
        try:
            await asyncio.shield(self._listening[channel])
        except BaseException:
            self.unsubscribe(command_id, queue)
            raise
        return queue

    def unsubscribe(self, command_id: UUID, queue: asyncio.Queue[None]) -> None:
        channel = channel_of(command_id)
        queues = self._queues.get(channel)
        if queues is None:
            return
        queues.discard(queue)
        if not queues:
            del self._queues[channel]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        reconnecting = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await self._follow(conn)
                    if reconnecting:
                        # what happened while nobody listened was never heard: every page
                        # looks again
                        self._wake_all()
                    reconnecting = True
                    while True:
                        await self._follow(conn)
                        async for notify in conn.notifies(timeout=TURN_SECONDS):
                            for queue in self._queues.get(notify.channel, ()):
                                # a full queue already tells its page to look again
                                with contextlib.suppress(asyncio.QueueFull):
                                    queue.put_nowait(None)
            except asyncio.CancelledError:
                raise
            except psycopg.Error as exc:
                # nothing listens now: a page that subscribes waits for its LISTEN on the
                # next connection (or is told the console cannot listen)
                self._listened.clear()
                for channel, listening in list(self._listening.items()):
                    if listening.done():
                        self._listening[channel] = asyncio.get_running_loop().create_future()
                logger.warning(
                    "console live updates: the listening connection is lost (%s, %s); "
                    "listening again in 1 s",
                    type(exc).__name__,
                    exc.sqlstate or "no SQLSTATE",
                )
                await asyncio.sleep(1)

    def _wake_all(self) -> None:
        for queues in self._queues.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)

    async def _follow(self, conn: psycopg.AsyncConnection) -> None:
        """LISTEN on the channels pages follow, UNLISTEN on those nobody follows now, and
        let the subscribers whose LISTEN took effect go on."""
        wanted = set(self._queues)
        for channel in wanted - self._listened:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._listened.add(channel)
        for channel in self._listened - wanted:
            # forgotten before the UNLISTEN runs: a page that subscribes meanwhile waits for
            # the next LISTEN instead of being told the connection listens for it
            self._listened.discard(channel)
            self._listening.pop(channel, None)
            await conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(channel)))
        for channel, listening in list(self._listening.items()):
            if channel in self._listened:
                if not listening.done():
                    listening.set_result(None)
            elif channel not in self._queues:  # not `wanted`: it may have subscribed since
                listening.cancel()
                del self._listening[channel]
