"""budhitrade.daphne_server's SocketWriter: what reaches the socket, what goes to Twisted's buffer, when it refuses.

The cases run in a process of their own (budhitrade/tests/writer_cases.py): importing the server installs
Twisted's asyncio reactor, which this process must not have.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def cases() -> dict:
    done = subprocess.run([sys.executable, "-m", "budhitrade.tests.writer_cases"], capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_pass_s_frames_go_out_in_one_send_per_socket_at_its_end_and_each_text_is_framed_once(cases):
    both = cases["frame_a"] + cases["frame_bc"]
    assert cases["two_sockets_said"] == [[True, True], [True, True]]
    assert cases["encoded_texts"] == 2  # "a" and "bc", once for both sockets
    assert cases["before_pass_end"] == [{"sent": "", "written": ""}] * 2
    assert cases["two_sockets"] == [{"sent": both, "written": ""}] * 2
    assert cases["encoded_after"] == 0


def test_what_the_socket_does_not_take_goes_to_twisted_s_buffer_in_order(cases):
    assert cases["part"] == {"sent": cases["frame_a"], "written": cases["frame_bc"]}
    assert cases["full"] == {"sent": "", "written": cases["frame_a"] + cases["frame_bc"]}


def test_a_broken_socket_s_frames_go_to_twisted_whose_own_write_finds_the_connection_lost(cases):
    assert cases["reset"] == {"sent": "", "written": cases["frame_a"] + cases["frame_bc"]}


def test_while_twisted_s_buffer_holds_bytes_nothing_overtakes_them(cases):
    assert cases["buffer_waits"] == {"sent": "", "written": cases["frame_a"] + cases["frame_bc"]}


def test_send_now_refuses_a_full_closing_or_gone_socket_and_a_message_past_autobahn_s_limits(cases):
    assert cases["paused_said"] is False
    assert cases["resumed_said"] is True
    assert cases["closing_said"] is False
    assert cases["gone_said"] is False
    assert cases["limited_said"] == [True, False]
