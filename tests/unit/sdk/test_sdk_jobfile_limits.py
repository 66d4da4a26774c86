"""Job files nobody checked: too large, too deep, alias bombs, not UTF-8. Each is one line
naming the file and the problem, from the library and from the `dojo` CLI (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dojo import bounded_yaml, cli, specfile
from dojo.errors import SpecError

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "digits-mlp.yaml"

BOMB = "\n".join(
    [f"l0: &l0 [{', '.join(['1'] * 10)}]"]
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 7)]
)

BAD_BYTES = {
    "latin1.yaml": ("name: café\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    "utf16.yaml": ("name: x\n".encode("utf-16"), "UTF-16 text"),
    "utf32.yaml": ("name: x\n".encode("utf-32"), "UTF-32 text"),
    "binary.yaml": (bytes(range(256)) * 4, "NUL bytes"),
    "big.yaml": (b"# padding\n" * 30_000, f"at most {bounded_yaml.MAX_FILE_BYTES} bytes"),
    "control.yaml": (b"name: a\x01b\n", "U+0001"),
}

BAD_TEXT = {
    "deep-list": ("[" * 5000 + "]" * 5000, "nested deeper than 32 levels"),
    "deep-map": (
        "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 60)),
        "nested deeper than 32 levels",
    ),
    "bomb": (BOMB, f"more than {bounded_yaml.MAX_VALUES} values"),
    "self-alias": ("a: &a [*a]\n", "contains it"),
    "syntax": ("a: [b", "not valid YAML"),
}


@pytest.mark.parametrize("name", sorted(BAD_BYTES))
def test_bad_file_is_one_line_naming_file_and_problem(tmp_path: Path, name: str) -> None:
    data, words = BAD_BYTES[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SpecError) as info:
        specfile.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ") and words in message


@pytest.mark.parametrize("name", sorted(BAD_TEXT))
def test_bad_text_is_one_line(name: str) -> None:
    text, words = BAD_TEXT[name]
    with pytest.raises(SpecError) as info:
        specfile.parse_yaml(text, source="pasted")
    message = str(info.value)
    assert "\n" not in message and message.startswith("pasted: ") and words in message


def test_deep_aliases_count_as_deep() -> None:
    chain = ["a0: &a0 " + "[" * 20 + "1" + "]" * 20]
    chain += [f"a{i}: &a{i} " + "[" * 20 + f"*a{i - 1}" + "]" * 20 for i in range(1, 60)]
    with pytest.raises(SpecError, match="once its aliases are expanded"):
        specfile.parse_yaml("\n".join(chain))


def test_a_utf8_bom_and_a_little_anchor_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    assert specfile.load(path).name == specfile.load(EXAMPLE).name
    spec = specfile.parse_yaml("resources: &r {count: 2}\n")
    assert spec.resources.count == 2


def test_echoed_values_and_keys_are_cut_short() -> None:
    with pytest.raises(SpecError) as info:
        specfile.parse_yaml(
            f"name: [{'x' * 5000!r}]\nmodel: {{params: {{{'k' * 900}: 1}}}}\n"
            f"training: {{steps: '{'y' * 5000}'}}\n"
        )
    assert len(str(info.value)) < 1000
    assert all(len(v.field) < 100 for v in info.value.field_violations)


def test_many_bad_values_are_summarized() -> None:
    text = "resources: {accelerators: [" + ", ".join(["1"] * 500) + "]}"
    with pytest.raises(SpecError) as info:
        specfile.parse_yaml(text)
    violations = info.value.field_violations
    assert len(violations) == specfile.MAX_REPORTED + 1
    assert violations[-1].description == "and 450 more violations not listed"


def test_cli_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOJO_API_KEY", "dojo_test_key")
    monkeypatch.setenv("DOJO_SERVER", "127.0.0.1:9")  # never called
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BAD_BYTES["latin1.yaml"][0])
    for command in ("submit", "estimate"):
        assert cli.main(["jobs", command, str(path)]) == cli.EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and "UTF-8" in err


def _dojo(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DOJO_API_KEY": "dojo_test_key", "DOJO_SERVER": "127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-m", "dojo.cli", *args],
        env=env,
        timeout=60,
        capture_output=True,
        check=False,
        **kwargs,
    )  # type: ignore[call-overload]


def test_real_dojo_process_never_prints_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text("[" * 5000 + "]" * 5000)
    (tmp_path / "utf16.yaml").write_bytes(BAD_BYTES["utf16.yaml"][0])
    for name in ("deep.yaml", "utf16.yaml"):
        done = _dojo("jobs", "submit", str(tmp_path / name))
        assert done.returncode == cli.EXIT_BAD_INPUT
        assert b"Traceback" not in done.stderr and done.stderr.count(b"\n") == 1
    done = _dojo("jobs", "get", os.fsdecode(b"\xff\xfe"))
    assert done.returncode == cli.EXIT_BAD_INPUT and b"Traceback" not in done.stderr


def test_output_into_a_closed_pipe_ends_quietly(
    service: object, fake: tuple[object, str], tmp_path: Path
) -> None:
    env = {**os.environ, "DOJO_API_KEY": "dojo_test_key", "DOJO_SERVER": fake[1]}
    for _ in range(3):
        assert (
            cli.main(
                ["--server", fake[1], "--api-key", "dojo_test_key", "jobs", "submit", str(EXAMPLE)]
            )
            == 0
        )
    read, write = os.pipe()
    os.close(read)  # `| head` that has already gone
    done = subprocess.run(
        [sys.executable, "-m", "dojo.cli", "jobs", "list"],
        env=env,
        stdout=write,
        stderr=subprocess.PIPE,
        timeout=60,
        check=False,
    )
    os.close(write)
    assert done.stderr == b"" and done.returncode == cli.EXIT_BROKEN_PIPE
