"""Meter keys on disk, fleet files and the command line."""

from __future__ import annotations

import json
import os
import stat

import pytest

from device_client import crypto as meter_crypto
from device_client.cli import main
from device_client.fleet import create_fleet, load_fleet, read_private_key, write_private_key


def test_keygen_writes_an_owner_only_key_and_prints_the_public_key(tmp_path, capsys):
    key_file = tmp_path / "meter.key"
    assert main(["keygen", "--out", str(key_file)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = read_private_key(key_file)
    assert printed["public_key"] == meter_crypto.public_key_b64(key)
    assert printed["key_id"] == meter_crypto.key_id(key)
    # the private key itself is never printed
    assert meter_crypto.private_key_hex(key) not in json.dumps(printed)
    # an existing key is never overwritten
    assert main(["keygen", "--out", str(key_file)]) == 1
    assert read_private_key(key_file).to_string() == key.to_string()


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    key_file = tmp_path / "k.key"
    write_private_key(key_file)
    os.chmod(key_file, 0o644)
    with pytest.raises(PermissionError):
        read_private_key(key_file)


def test_a_fleet_is_created_and_loaded(tmp_path, capsys):
    out = tmp_path / "fleet" / "fleet.json"
    assert main(["fleet", "--meters", "4", "--out", str(out), "--prefix", "DEMO"]) == 0
    printed = json.loads(capsys.readouterr().out)["meters"]
    assert [m["serial"] for m in printed] == ["DEMO-0001", "DEMO-0002", "DEMO-0003", "DEMO-0004"]
    assert [m["profile"] for m in printed] == ["residential"] * 3 + ["commercial"]
    entries = load_fleet(out)
    assert [meter_crypto.public_key_b64(e.config.private_key) for e in entries] == [
        m["public_key"] for m in printed]
    for key_file in (tmp_path / "fleet" / "keys").iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # nothing secret in the fleet file itself: it points at the key files
    assert "private_key" not in out.read_text()


def test_a_fleet_file_with_a_bad_entry_is_refused(tmp_path):
    out = tmp_path / "fleet.json"
    create_fleet(out, 2)
    data = json.loads(out.read_text())
    data["meters"][1]["serial"] = data["meters"][0]["serial"]
    out.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="twice"):
        load_fleet(out)
    data["meters"][1]["serial"] = "OK-2"
    data["meters"][1]["behaviour"] = "explode"
    out.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="behaviour"):
        load_fleet(out)


def test_inline_private_keys_are_accepted(tmp_path):
    key = meter_crypto.generate_private_key()
    out = tmp_path / "fleet.json"
    out.write_text(json.dumps({"version": 1, "meters": [
        {"serial": "IN-1", "private_key": meter_crypto.private_key_hex(key),
         "register_wh": 1200, "behaviour": "silent"}]}))
    [entry] = load_fleet(out)
    assert entry.config.register_wh == 1200 and entry.config.behaviour == "silent"
    assert entry.config.private_key.to_string() == key.to_string()
