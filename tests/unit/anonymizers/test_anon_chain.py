"""Chain validation: every problem is found before data moves, in one line naming file and step."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from anon_testdata import KEY

from anonymizers.chain import CHAIN_DIR, ChainError, find_chain, resolve_chain

CHAINS = ["none", "naive-hash", "pseudonymize", "generalize", "kanon", "dp-aggregates"]
HMAC = {"use": "pseudonymize.hmac", "columns": {"events": ["account_id"]}, "with": {"key": "env:ANONBENCH_KEY"}}


def write_chain(tmp_path: Path, steps: list[dict], name: str = "t") -> Path:
    p = tmp_path / f"{name}.yaml"
    p.write_text(yaml.safe_dump({"name": name, "steps": steps}))
    return p


@pytest.mark.parametrize("name", CHAINS)
def test_builtin_chains_resolve(name: str, key_env) -> None:
    chain = resolve_chain(name)
    assert chain.name == name and chain.role == ("control" if name in ("none", "naive-hash") else "candidate")
    assert find_chain(name) == CHAIN_DIR / f"{name}.yaml"
    section = chain.manifest_section()
    assert KEY not in str(section)


def test_builtin_chains_read_key_from_env() -> None:
    for name in CHAINS:
        for step in yaml.safe_load((CHAIN_DIR / f"{name}.yaml").read_text())["steps"]:
            if "key" in step.get("with", {}):
                assert step["with"]["key"] == "env:ANONBENCH_KEY"


@pytest.mark.parametrize("steps, fragment", [
    ([{"use": "no.such", "columns": {"events": ["account_id"]}}], "steps[0] (no.such): unknown anonymizer"),
    ([{"use": "drop", "columns": {"nosuch": ["a"]}}], "steps[0] (drop): columns.nosuch: unknown"),
    ([{"use": "drop", "columns": {"events": ["nosuch"]}}], "has no column 'nosuch'"),
    ([{"use": "drop", "columns": {"users": ["email"]}},
      {"use": "hash.sha256", "columns": {"users": ["email"]}}], "steps[1] (hash.sha256): columns.users"),
    ([{"use": "generalize.time_bucket", "columns": {"events": ["event_time"]}, "with": {"every": "fortnight"}}],
     "with.every: expected a positive duration"),
    ([{"use": "generalize.ip_prefix", "columns": {"events": ["client_ip"]}, "with": {"ipv4_prefix": 40}}],
     "with.ipv4_prefix"),
    ([{"use": "generalize.ip_prefix", "columns": {"events": ["client_ip"]}, "with": {"bogus": 1}}],
     "with.bogus: Extra inputs"),
    ([{"use": "generalize.time_bucket", "columns": {"events": ["client_ip"]}}], "expected a timestamp"),
    ([{"use": "hash.sha256", "columns": {"events": ["event_time"]}}], "expected a string column"),
    ([{**HMAC, "with": {"key": KEY}}], "inline key is refused"),
    ([{**HMAC, "with": {}}], "with.key: Field required"),
    ([{**HMAC, "with": {"key": "env:ANONBENCH_TEST_UNSET"}}], "env:ANONBENCH_TEST_UNSET: environment variable"),
    ([{"use": "drop", "columns": {}}], "name at least one table"),
    ([{"use": "kanon.mondrian", "columns": {"users": []}}], "columns.users: name at least one column"),
    ([{"use": "dp.aggregate", "columns": {"events": ["org_id"]}},
      {"use": "drop", "columns": {"events": ["org_id"]}}], "steps[1] (drop): columns.events: unknown or no longer"),
    ([{"use": "kanon.mondrian", "columns": {"users": ["account_id"]}}], "cannot be a quasi-identifier"),
])
def test_bad_chain_names_file_and_step(tmp_path: Path, key_env, monkeypatch, steps, fragment) -> None:
    monkeypatch.delenv("ANONBENCH_TEST_UNSET", raising=False)
    path = write_chain(tmp_path, steps)
    with pytest.raises(ChainError) as e:
        resolve_chain(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and fragment in msg and "\n" not in msg
    assert KEY not in msg


def test_step_label_uses_name(tmp_path: Path) -> None:
    path = write_chain(tmp_path, [{"use": "drop", "name": "remove-names", "columns": {"users": ["nope"]}}])
    with pytest.raises(ChainError, match=r"steps\[0\] \(remove-names\)"):
        resolve_chain(path)


@pytest.mark.parametrize("text, fragment", [
    ("name: [unclosed", "not valid YAML"),
    ("- just a list", "must be a mapping"),
    ("name: Bad Name\nsteps: []", "name: String should match"),
    ("name: x\nrole: boss\nsteps: []", "role"),
    ("name: x\nsteps: []\nextra: 1", "extra: Extra inputs"),
])
def test_bad_chain_file(tmp_path: Path, text: str, fragment: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ChainError, match=fragment):
        resolve_chain(p)


def test_unknown_chain_name_lists_known() -> None:
    with pytest.raises(ChainError, match=r"chains: .*generalize"):
        find_chain("no-such-chain")


def test_ephemeral_key_used_only_when_unset(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ANONBENCH_KEY", raising=False)
    path = write_chain(tmp_path, [HMAC])
    with pytest.raises(ChainError, match="not set"):
        resolve_chain(path)
    chain = resolve_chain(path, ephemeral_secrets={"env:ANONBENCH_KEY": b"z" * 32})
    assert chain.ephemeral == ("env:ANONBENCH_KEY",)
    monkeypatch.setenv("ANONBENCH_KEY", KEY)
    assert resolve_chain(path, ephemeral_secrets={"env:ANONBENCH_KEY": b"z" * 32}).ephemeral == ()


def test_output_schemas_follow_steps(key_env) -> None:
    chain = resolve_chain("dp-aggregates")
    assert set(chain.output_schemas) == {"orgs", "event_counts"}
    assert chain.output_schemas["event_counts"].names == ["period_start", "product", "count"]
    assert "display_name" not in resolve_chain("pseudonymize").output_schemas["users"].names
