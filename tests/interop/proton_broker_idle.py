"""Run ../shared/peers/proton_broker.py with an idle timeout on every connection it accepts.

proton_broker.py takes no idle-timeout option; this sets proton's
``transport.idle_timeout`` (seconds, from PROTON_BROKER_IDLE_TIMEOUT) as each
connection opens, before proton writes its open frame, so proton-c itself
advertises it and drops a client that stays silent for longer (2.4.5).

    PROTON_BROKER_PATH=.../proton_broker.py PROTON_BROKER_IDLE_TIMEOUT=1.0 \\
        python proton_broker_idle.py --port PORT
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any


def main() -> None:
    spec = importlib.util.spec_from_file_location("proton_broker",
                                                  os.environ["PROTON_BROKER_PATH"])
    assert spec is not None and spec.loader is not None
    broker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(broker)
    idle = float(os.environ["PROTON_BROKER_IDLE_TIMEOUT"])
    opening = broker.Broker.on_connection_opening

    def on_connection_opening(self: Any, event: Any) -> None:
        event.transport.idle_timeout = idle
        opening(self, event)

    broker.Broker.on_connection_opening = on_connection_opening
    broker.main()


if __name__ == "__main__":
    main()
