"""Twisted's reactor for kiteconnect's KiteTicker, run in a daemon thread of its own.

KiteTicker runs on Twisted's reactor; the market-feed process runs on
asyncio. The reactor runs in one daemon thread of its own (started once by
`install_reactor()`, which ZerodhaMarketStream.open() calls), and every
KiteTicker call is made there (`reactor.callFromThread`); its callbacks hand their news to the
stream's event loop with `loop.call_soon_threadsafe`, so the stream's state
and its pushes live on the loop alone. Twisted's asyncio reactor on the
feed's own loop was the alternative and does not hold: `django.setup()`
imports kiteconnect, which imports `twisted.internet.reactor` and so installs
Twisted's default reactor before any command's code runs, and a reactor
binds one event loop for the life of the process (pytest-asyncio gives each
test a new loop), and can never be restarted. Where something already runs
the reactor (daphne runs its asyncio reactor), that one is used as it is.
"""

from __future__ import annotations

import threading

_reactor_lock = threading.Lock()
_reactor_thread: threading.Thread | None = None


def install_reactor() -> None:
    """Make Twisted's reactor run for KiteTicker: in a daemon thread unless something runs it already.

    Idempotent and thread-safe; it installs no reactor of its own (whichever
    is installed is run), so it is safe after daphne installed its own. It
    refuses a process where the reactor was swapped after kiteconnect was
    imported (daphne.server imported late): KiteTicker would run the old one.
    """
    global _reactor_thread
    from kiteconnect import ticker as kite_ticker
    from twisted.internet import reactor

    if kite_ticker.reactor is not reactor:
        raise RuntimeError("Twisted's reactor was replaced after kiteconnect was imported; "
                           "KiteTicker cannot run in this process.")
    with _reactor_lock:
        if reactor.running or (_reactor_thread is not None and _reactor_thread.is_alive()):
            return
        _reactor_thread = threading.Thread(
            target=reactor.run, kwargs={"installSignalHandlers": False}, name="kite-ticker-reactor", daemon=True
        )
        _reactor_thread.start()
