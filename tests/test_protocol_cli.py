"""`imuform decode`: hex in (nRF Connect style), JSON lines out, diagnostics on stderr, clear errors."""

from __future__ import annotations

import binascii
import json

import pytest
from click.testing import CliRunner

from imuform.cli.decode import parse_hex
from imuform.cli.main import cli, main

WIT = "55 61 FC FF EF FF 11 08 00 00 00 00 00 00 98 FF 0D 00 F8 31"
IMUFORM_EXAMPLE = (
    "49 46 01 03 01 02 07 00 40 42 0F 00 80 96 98 00 00 00 00 00 00 08 00 00 00 00 00 00"
    " 00 04 00 00 EE 06 A0 00 B0 FF 28 00 2A 52"
)


def run(*args: str):
    return CliRunner().invoke(cli, ["decode", *args])


@pytest.mark.parametrize(
    "text",
    [
        WIT,
        WIT.replace(" ", ""),
        WIT.replace(" ", ":"),
        WIT.replace(" ", "-"),
        "(0x) " + WIT.replace(" ", "-"),
        " ".join("0x" + b for b in WIT.split()),
    ],
)
def test_hex_spellings(text):
    assert parse_hex(text).hex().upper() == WIT.replace(" ", "")


def test_witmotion_lines_have_only_the_carried_keys():
    result = run("--sensor", "witmotion", WIT)
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert set(line) == {"acc_mps2", "gyr_dps", "quat_wxyz"}
    assert line["acc_mps2"][2] == pytest.approx(2065 / 2048 * 9.81)


def test_imuform_example_with_time():
    result = run("--sensor", "imuform", IMUFORM_EXAMPLE)
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["time_s"] for x in lines] == pytest.approx([1.0, 1.01])
    assert set(lines[0]) == {"time_s", "acc_mps2", "gyr_dps"}


def test_polar_context_options():
    payload = "020094357700000000807107F06A9E8D0A38BE5CBEBA2F96B3EE4BE5ADFB42B9EBBE4CFEBA2F92BFEE4BE4B1FB12B9ECBD3C3EBB2F8FD3DE4BE3B5F7D2B8EDBD307E7B2F8BE3CE8BE2BAF7A2B8EEBC20BE7B2F88F3CECBE1BDEF52F8EFBC18FE3B2F8403BFCBE0C2EF32B8F0BB044EBC2E8113AF0BE0C6EFF2F7F1B9FC7DBC2E7D279F4BDFCAEBC2F7F2B8ECCD7C2E7B378F4BDECEE392F7F3B8E00DFD2D774B7FCBDDD2DF6237F5B7D44DBD2D745B6FCBDCD7D73237F6B5C88D7D2D716B4F4BDCDCD3F236F7B4BCDDFD2C6F7B3F4BDBE0CFD236F8B2B02DBE2C6C8F1FCBDAE3C7A276F9"
    lines = run("--sensor", "polar-pmd", "--factor", "0.000244", "--rate-hz", "52", payload).stdout.splitlines()
    assert len(lines) == 57
    assert json.loads(lines[0])["acc_mps2"][0] == pytest.approx(1905 * 0.000244 * 9.81)


def test_metawear_ranges_and_dot_mode():
    out = run("--sensor", "metawear", "--acc-range-g", "4", "030416C494A22AD0").stdout
    assert json.loads(out)["acc_mps2"][0] == pytest.approx(-1.872 * 9.81, abs=0.01)
    out = run("--sensor", "movella-dot", "--mode", "rate_quantities", "00" * 28).stdout
    assert json.loads(out) == {"time_s": 0.0, "acc_mps2": [0.0] * 3, "gyr_dps": [0.0] * 3}
    out = run("--sensor", "thingy52", "--stream", "quaternion", "00000040" + "00" * 12).stdout
    assert json.loads(out) == {"quat_wxyz": [1.0, 0.0, 0.0, 0.0]}


def test_skipped_bytes_reported_on_stderr():
    result = run("--sensor", "witmotion", "0102" + WIT.replace(" ", ""))
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 1
    assert "payload 1: skipped 2 B" in result.stderr


def test_sensor_list_text_and_json():
    assert "movella-dot" in run("--sensor", "list").stdout
    kinds = {m["kind"] for m in json.loads(run("--sensor", "list", "--json").stdout)}
    assert kinds == {"movella-dot", "polar-pmd", "witmotion", "metawear", "thingy52", "imuform"}


def test_errors_exit_codes(capsys):
    assert main(["decode", "--sensor", "witmotion", "55 6"]) == 1
    assert "not a hex payload" in capsys.readouterr().err
    assert main(["decode", "--sensor", "nope", "00"]) == 2
    assert "'nope' is not one of" in capsys.readouterr().err
    assert main(["decode", "--sensor", "movella-dot", "--mode", "99", "00"]) == 2
    assert main(["decode", "--sensor", "witmotion"]) == 2
    assert main(["decode", "--sensor", "witmotion", "--rate-hz", "fast", "00"]) == 2


def test_lost_frames_reported_on_stderr():
    first = IMUFORM_EXAMPLE.replace(" ", "")
    # The same frame again with sequence 9 (frame 8 lost) and t0 2 s, CRC recomputed.
    body = bytearray(bytes.fromhex(first)[:-2])
    body[6], body[8:12] = 9, (2_000_000).to_bytes(4, "little")
    second = bytes(body) + binascii.crc_hqx(bytes(body), 0xFFFF).to_bytes(2, "little")
    result = run("--sensor", "imuform", first, second.hex())
    assert len(result.stdout.splitlines()) == 4
    assert "payload 2: 1 frame(s) lost" in result.stderr and "gap(s) in the device clock" in result.stderr
