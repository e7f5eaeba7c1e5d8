"""The runner against real bash and python3 processes: what a deployment author would observe."""

from __future__ import annotations

import asyncio
import base64
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import argonaut.runner as runner_package
from argonaut.runner import (
    RUNNER_VERSION,
    Artifact,
    LogEntry,
    OutputVariable,
    ScriptRequest,
    ScriptResult,
    execution,
    process_group,
    run_script,
)

TEST_USER = "argonaut-runner-test"


async def run(
    work_root: Path, body: str, syntax: str = "Bash", **options: object
) -> tuple[ScriptResult, list[LogEntry]]:
    lines: list[LogEntry] = []
    request = ScriptRequest(script_body=body, syntax=syntax, work_root=work_root, **options)  # type: ignore[arg-type]
    result = await run_script(request, lines.append)
    return result, lines


def texts(lines: list[LogEntry]) -> list[str]:
    return [line.text for line in lines]


def pairs(lines: list[LogEntry]) -> list[tuple[str, str]]:
    return [(line.category, line.text) for line in lines]


def live_members(pgid: int) -> list[int]:
    """Processes of the group that are not zombies (zombies are dead and wait for init to reap them)."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                members.append(int(entry))
    return members


async def wait_until_group_is_gone(pgid: int, timeout: float = 10.0) -> None:
    """Killed children whose parent died first stay zombies until init reaps them (here ~1 s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"process group {pgid} still exists"
        await asyncio.sleep(0.05)


def test_public_api_is_exactly_the_contract() -> None:
    assert sorted(runner_package.__all__) == sorted(
        [
            "ScriptRequest",
            "LogEntry",
            "RunnerBundle",
            "PACKAGE_BUNDLE",
            "load_bundle",
            "save_bundle",
            "OutputVariable",
            "Artifact",
            "ScriptResult",
            "run_script",
            "RUNNER_VERSION",
        ]
    )
    assert RUNNER_VERSION.count(".") == 2


# --- output ---------------------------------------------------------------------------------------------


async def test_lines_in_order_with_utc_timestamps(tmp_path: Path) -> None:
    before = time.time()
    result, lines = await run(tmp_path, "echo one\necho two\necho three")
    assert pairs(lines) == [("Info", "one"), ("Info", "two"), ("Info", "three")]
    assert before - 1 <= lines[0].occurred <= lines[-1].occurred <= time.time() + 1  # unix seconds, UTC
    assert result.exit_code == 0
    assert result.failure_message is None
    assert result.output_variables == ()
    assert result.artifacts == ()


async def test_stderr_is_error_and_interleaves_in_read_order(tmp_path: Path) -> None:
    script = "echo out-1\nsleep 0.05\necho err-1 >&2\nsleep 0.05\necho out-2\nsleep 0.05\necho err-2 >&2"
    _, lines = await run(tmp_path, script)
    assert pairs(lines) == [("Info", "out-1"), ("Error", "err-1"), ("Info", "out-2"), ("Error", "err-2")]


async def test_whitespace_kept_only_newline_stripped(tmp_path: Path) -> None:
    _, lines = await run(
        tmp_path, "printf '  indented\\t\\n\\n'\nprintf 'crlf\\r\\n'\nprintf 'no newline at end'"
    )
    assert texts(lines) == ["  indented\t", "", "crlf", "no newline at end"]


async def test_unicode_bash_and_python(tmp_path: Path) -> None:
    text = "héllo wörld ✓ 日本語 🚀"
    _, bash_lines = await run(tmp_path, f"echo '{text}'")
    _, python_lines = await run(tmp_path, f"print({text!r})", "Python")
    assert texts(bash_lines) == [text]
    assert texts(python_lines) == [text]


async def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    _, lines = await run(tmp_path, "printf 'bad \\xff byte\\n'")
    assert texts(lines) == ["bad \ufffd byte"]


async def test_100_kb_line_arrives_whole(tmp_path: Path) -> None:
    script = "head -c 100000 /dev/zero | tr '\\0' x\necho\necho after"
    _, lines = await run(tmp_path, script)
    assert texts(lines) == ["x" * 100_000, "after"]
    _, python_lines = await run(tmp_path, "print('y' * 100_000)\nprint('after')", "Python")
    assert texts(python_lines) == ["y" * 100_000, "after"]


async def test_many_lines_none_lost(tmp_path: Path) -> None:
    _, lines = await run(tmp_path, "seq 1 20000\nseq 1 5000 >&2")
    assert [line.text for line in lines if line.category == "Info"] == [str(n) for n in range(1, 20001)]
    assert [line.text for line in lines if line.category == "Error"] == [str(n) for n in range(1, 5001)]


async def test_exit_code_and_default_failure_message(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, "echo before\nexit 3\necho never")
    assert result.exit_code == 3
    assert result.failure_message == "The script exited with code 3"
    assert texts(lines) == ["before"]


async def test_bash_errors_name_the_script(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, "no-such-command-xyz")
    assert result.exit_code == 127
    [line] = lines
    assert line.category == "Error"
    assert "script.sh: line 1: no-such-command-xyz: command not found" in line.text


async def test_python_traceback_shows_only_the_script(tmp_path: Path) -> None:
    result, lines = await run(
        tmp_path, "print('start')\n\ndef broken():\n    raise ValueError('boom')\n\nbroken()", "Python"
    )
    assert result.exit_code == 1
    errors = "\n".join(line.text for line in lines if line.category == "Error")
    assert "ValueError: boom" in errors
    assert 'script.py", line 6' in errors
    assert "<string>" not in errors  # no bootstrap frames
    assert texts(lines)[0] == "start"


async def test_python_syntax_error_is_reported(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, "print('x'", "Python")
    assert result.exit_code == 1
    assert any("SyntaxError" in line.text for line in lines if line.category == "Error")


async def test_missing_interpreter_fails_the_step_not_the_worker(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, "print('x')", "Python", env={"PATH": str(tmp_path / "empty")})
    assert result.exit_code == 127
    assert result.failure_message == "python3 was not found on this machine, so the script could not start"
    assert pairs(lines) == [("Error", result.failure_message)]
    assert list(tmp_path.iterdir()) == []


async def test_stdin_is_empty(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, "cat\necho done")
    assert result.exit_code == 0
    assert texts(lines) == ["done"]


# --- service messages and helpers ---------------------------------------------------------------------


async def test_fail_step_sets_message_and_exits(tmp_path: Path) -> None:
    result, lines = await run(
        tmp_path,
        'echo working\nfail_step "Database #{Name} unreachable"\necho never',
        variables={"Name": "db1"},
    )
    assert result.exit_code == 1
    assert result.failure_message == "Database db1 unreachable"
    assert texts(lines) == ["working"]  # the resultMessage line itself is not logged


async def test_python_failstep_and_alias(tmp_path: Path) -> None:
    result, _ = await run(tmp_path, "failstep('py failed')\nprint('never')", "Python")
    assert (result.exit_code, result.failure_message) == (1, "py failed")
    result, _ = await run(tmp_path, "fail_step('alias failed')", "Python")
    assert (result.exit_code, result.failure_message) == (1, "alias failed")


async def test_output_variables_bash(tmp_path: Path) -> None:
    script = (
        "set_octopusvariable Plain 'hello world'\n"
        "set_octopusvariable Empty ''\n"
        "set_octopusvariable Multi $'line1\\nline2'\n"
        "set_octopusvariable Unicode 'wörld ✓'\n"
        "set_octopusvariable Token 'tok-42-secret' -sensitive\n"
        "set_octopusvariable Plain 'overwritten'\n"
        "echo done"
    )
    result, lines = await run(tmp_path, script)
    assert texts(lines) == ["done"]
    assert result.output_variables == (
        OutputVariable("Plain", "overwritten", False),
        OutputVariable("Empty", "", False),
        OutputVariable("Multi", "line1\nline2", False),
        OutputVariable("Unicode", "wörld ✓", False),
        OutputVariable("Token", "tok-42-secret", True),
    )


async def test_output_variables_python(tmp_path: Path) -> None:
    script = (
        "set_octopusvariable('Plain', 'from python')\n"
        "set_octopusvariable('Key', 'py-s3cret-9', sensitive=True)"
    )
    result, _ = await run(tmp_path, script, "Python")
    assert result.output_variables == (
        OutputVariable("Plain", "from python", False),
        OutputVariable("Key", "py-s3cret-9", True),
    )


async def test_sensitive_output_variable_is_masked_in_later_lines(tmp_path: Path) -> None:
    script = (
        "set_octopusvariable ApiKey 'k3y-abc-123' -sensitive\n"
        "echo 'key is k3y-abc-123'\n"
        "echo 'k3y-abc-123' >&2\n"
    )
    _, lines = await run(tmp_path, script)
    # stdout and stderr are two pipes: compare without their relative order.
    assert sorted(pairs(lines)) == [("Error", "********"), ("Info", "key is ********")]


async def test_sensitive_python_variable_is_masked(tmp_path: Path) -> None:
    script = (
        "import sys\nset_octopusvariable('ApiKey', 'py-k3y-xyz', True)\n"
        "print('key is py-k3y-xyz')\nprint('py-k3y-xyz', file=sys.stderr)"
    )
    _, lines = await run(tmp_path, script, "Python")
    # stdout and stderr are two pipes: compare without their relative order.
    assert sorted(pairs(lines)) == [("Error", "********"), ("Info", "key is ********")]


async def test_sensitive_variables_are_masked_everywhere(tmp_path: Path) -> None:
    script = (
        'echo "substituted: #{DbPassword}"\n'
        'echo "read: $(get_octopusvariable DbPassword)" >&2\n'
        'fail_step "could not log in with #{DbPassword}"'
    )
    result, lines = await run(
        tmp_path,
        script,
        variables={"DbPassword": "hunter2-xyz", "Other": "visible"},
        sensitive_variables=frozenset({"dbpassword"}),
    )
    assert sorted(pairs(lines)) == [("Error", "read: ********"), ("Info", "substituted: ********")]
    assert result.failure_message == "could not log in with ********"


async def test_mask_service_message(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"tok-123").decode()
    _, lines = await run(tmp_path, f"echo \"##octopus[mask value='{encoded}']\"\necho 'the tok-123 token'")
    assert texts(lines) == ["the ******** token"]


async def test_secrets_are_not_on_the_command_line_or_in_the_environment(tmp_path: Path) -> None:
    # A non-sensitive marker, so that a leak would show in the (unmasked) output.
    script = "tr '\\0' '\\n' < /proc/$$/cmdline\nenv\necho marker: $(get_octopusvariable Marker)"
    _, lines = await run(tmp_path, script, variables={"Marker": "plain-marker-4711"})
    assert texts(lines)[-1] == "marker: plain-marker-4711"
    assert not any("plain-marker-4711" in text for text in texts(lines)[:-1])


async def test_get_octopusvariable_bash(tmp_path: Path) -> None:
    variables = {
        "Simple": "value",
        "Octopus.Action[Step 1].Output.Url": "https://x/?a=1&b=2",
        "Spaces In Name": "  padded value  ",
        "Quotes": 'it\'s "quoted" $HOME `x`',
        "Unicode": "Grüße ✓ 日本",
        "Multi": "line1\nline2",
        "Empty": "",
    }
    script = (
        'printf "[%s]\\n" "$(get_octopusvariable Simple)"\n'
        'printf "[%s]\\n" "$(get_octopusvariable simple)"\n'
        'printf "[%s]\\n" "$(get_octopusvariable "Octopus.Action[Step 1].Output.Url")"\n'
        'printf "[%s]\\n" "$(get_octopusvariable "Spaces In Name")"\n'
        'printf "[%s]\\n" "$(get_octopusvariable Quotes)"\n'
        'printf "[%s]\\n" "$(get_octopusvariable Unicode)"\n'
        'printf "[%s]\\n" "$(get_octopusvariable Multi)"\n'
        'printf "[%s]\\n" "$(get_octopusvariable Empty)"\n'
        'printf "[%s]\\n" "$(get_octopusvariable Missing)"\n'
        "cd /\n"
        'printf "[%s]\\n" "$(get_octopusvariable Simple)"\n'
    )
    result, lines = await run(tmp_path, script, variables=variables)
    assert result.exit_code == 0
    assert texts(lines) == [
        "[value]",
        "[value]",
        "[https://x/?a=1&b=2]",
        "[  padded value  ]",
        '[it\'s "quoted" $HOME `x`]',
        "[Grüße ✓ 日本]",
        "[line1",
        "line2]",
        "[]",
        "[]",
        "[value]",
    ]


async def test_get_octopusvariable_python(tmp_path: Path) -> None:
    script = (
        "print(get_octopusvariable('Simple'))\n"
        "print(get_octopusvariable('SIMPLE'))\n"
        "print(repr(get_octopusvariable('Multi')))\n"
        "print(octopusvariables['Unicode'])\n"
        "print(repr(get_octopusvariable('Missing')))\n"
        "print(repr(octopusvariables.get('Missing')))\n"
        "try:\n    octopusvariables['Missing']\n"
        "except KeyError:\n    print('indexing a missing name raises KeyError')\n"
        "set_octopusvariable('Later', 'set here')\nprint(get_octopusvariable('later'))\n"
        "print(__name__, __file__.endswith('script.py'))\n"
    )
    variables = {"Simple": "value", "Multi": "a\nb", "Unicode": "Grüße ✓"}
    result, lines = await run(tmp_path, script, "Python", variables=variables)
    assert result.exit_code == 0, texts(lines)
    assert texts(lines) == [
        "value",
        "value",
        "'a\\nb'",
        "Grüße ✓",
        "''",  # as Calamari's get_octopusvariable: octopusvariables.get(key, "")
        "None",
        "indexing a missing name raises KeyError",
        "set here",
        "__main__ True",
    ]


async def test_a_missing_variable_in_bash_is_an_empty_line_and_success(tmp_path: Path) -> None:
    """Calamari's Bash helper answers an unknown name with ``echo ""``: an empty line, exit status 0,
    so ``$(get_octopusvariable X)`` is empty and ``set -e`` scripts carry on."""
    script = (
        "set -e\n"
        "get_octopusvariable Missing\n"
        'echo "status $?"\n'
        "get_octopusvariable Known\n"
        'echo " <- known, printed without a line break"\n'
        'value=$(get_octopusvariable Missing); echo "[${value}] ${#value}"\n'
    )
    result, lines = await run(tmp_path, script, variables={"Known": "value"})
    assert result.exit_code == 0, texts(lines)
    assert texts(lines) == ["", "status 0", "value <- known, printed without a line break", "[] 0"]


async def test_substitution_in_the_script_body(tmp_path: Path) -> None:
    script = 'echo "#{Greeting | ToUpper}, #{name}! ##{Name} #{Missing} ${#BASH_VERSINFO[@]}"'
    _, lines = await run(tmp_path, script, variables={"Greeting": "hello", "Name": "World"})
    assert texts(lines) == ["HELLO, World! #{Name} #{Missing} 6"]


async def test_log_categories_from_helpers_and_switches(tmp_path: Path) -> None:
    script = (
        "write_verbose 'v'\nwrite_highlight 'h'\nwrite_wait 'w'\nwrite_warning 'warn'\necho plain\n"
        "echo '##octopus[stdout-warning]'\necho w1\necho w2\necho '##octopus[stdout-default]'\necho back\n"
        "echo '##octopus[stdout-ignore]'\necho hidden\necho '##octopus[stdout-default]'\n"
        "sleep 0.1\necho '##octopus[stderr-progress]'\necho progress >&2\n"  # after stdout's lines are read
        "update_progress 50 'half way'\n"
    )
    _, lines = await run(tmp_path, script)
    assert pairs(lines) == [
        ("Verbose", "v"),
        ("Highlight", "h"),
        ("Wait", "w"),
        ("Warning", "warn"),
        ("Info", "plain"),
        ("Warning", "w1"),
        ("Warning", "w2"),
        ("Info", "back"),
        ("Verbose", "progress"),
    ]


async def test_python_log_helpers(tmp_path: Path) -> None:
    script = (
        "printverbose('v')\nprinthighlight('h')\nprintwait('w')\nprintwarning('warn')\n"
        "updateprogress(10, 'x')"
    )
    _, lines = await run(tmp_path, script, "Python")
    assert pairs(lines) == [("Verbose", "v"), ("Highlight", "h"), ("Wait", "w"), ("Warning", "warn")]


async def test_malformed_service_message_is_logged(tmp_path: Path) -> None:
    _, lines = await run(tmp_path, "echo \"##octopus[setVariable name='not base64!']\"")
    assert texts(lines) == ["##octopus[setVariable name='not base64!']"]


async def test_user_can_override_a_helper(tmp_path: Path) -> None:
    script = 'write_warning() { echo "custom: $1"; }\nset_octopusvariable A b\nwrite_warning x'
    result, lines = await run(tmp_path, script)
    assert texts(lines) == ["custom: x"]
    assert result.output_variables == (OutputVariable("A", "b", False),)


async def test_helpers_work_under_strict_mode(tmp_path: Path) -> None:
    script = (
        "set -euo pipefail\nset_octopusvariable A b\nv=$(get_octopusvariable Missing)\n"
        'echo "[$v]"\nwrite_verbose quiet\necho end'
    )
    result, lines = await run(tmp_path, script)
    assert result.exit_code == 0, texts(lines)
    assert texts(lines) == ["[]", "quiet", "end"]


# --- artifacts ------------------------------------------------------------------------------------------


async def test_artifacts_are_copied_before_the_folder_goes(tmp_path: Path) -> None:
    artifact_dir = tmp_path / "artifacts"
    script = (
        "printf 'report body\\n' > report.txt\n"
        "new_octopusartifact report.txt\n"
        "mkdir sub && cd sub && printf 'ünï' > data.bin\n"
        "new_octopusartifact data.bin 'Data File.bin'\n"
        "new_octopusartifact ../report.txt\n"  # same name again: stored under a different file name
        "new_octopusartifact missing.txt\n"
    )
    result, lines = await run(tmp_path / "work", script, artifact_dir=artifact_dir)
    assert result.exit_code == 0
    first, second, third = result.artifacts
    assert first == Artifact("report.txt", f"{result.work_dir}/report.txt", artifact_dir / "report.txt", 12)
    assert first.stored_path.read_bytes() == b"report body\n"
    assert second.name == "Data File.bin"
    assert second.source_path == f"{result.work_dir}/sub/data.bin"
    assert second.stored_path.parent == artifact_dir
    assert second.stored_path.read_bytes() == "ünï".encode()
    assert second.length == len("ünï".encode())
    assert third.stored_path != first.stored_path and third.stored_path.read_bytes() == b"report body\n"
    warnings = [line.text for line in lines if line.category == "Warning"]
    assert len(warnings) == 1 and "missing.txt" in warnings[0] and "does not exist" in warnings[0]
    assert not result.work_dir.exists()


async def test_python_createartifact(tmp_path: Path) -> None:
    artifact_dir = tmp_path / "artifacts"
    script = "open('out.json', 'w').write('{\"ok\": true}')\ncreateartifact('out.json', 'result.json')"
    result, _ = await run(tmp_path / "work", script, "Python", artifact_dir=artifact_dir)
    [artifact] = result.artifacts
    assert (artifact.name, artifact.length) == ("result.json", 12)
    assert artifact.stored_path.read_text() == '{"ok": true}'


async def test_raw_create_artifact_message_with_relative_path(tmp_path: Path) -> None:
    # Relative paths in a hand-written message resolve against the working folder.
    path = base64.b64encode(b"notes.txt").decode()
    script = f"echo hi > notes.txt\necho \"##octopus[createArtifact path='{path}']\""
    result, _ = await run(tmp_path / "work", script, artifact_dir=tmp_path / "artifacts")
    [artifact] = result.artifacts
    assert (artifact.name, artifact.source_path, artifact.length) == ("notes.txt", "notes.txt", 3)


async def test_artifact_without_artifact_dir_is_a_warning(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, "echo x > a.txt\nnew_octopusartifact a.txt")
    assert result.artifacts == ()
    assert [line.category for line in lines if "a.txt" in line.text][-1] == "Warning"


async def test_artifact_that_is_not_a_file_is_a_warning(tmp_path: Path) -> None:
    result, lines = await run(
        tmp_path / "w", "mkfifo pipe\nnew_octopusartifact pipe", artifact_dir=tmp_path / "a"
    )
    assert result.artifacts == ()
    assert any(line.category == "Warning" and "not a regular file" in line.text for line in lines)


# --- working folder -------------------------------------------------------------------------------------


async def test_working_folder_is_fresh_private_cwd_and_removed(tmp_path: Path) -> None:
    script = "pwd\nstat -c %a .\nls -A | sort | tr '\\n' ' '; echo\necho left-behind > file.txt"
    first, lines = await run(tmp_path, script)
    second, _ = await run(tmp_path, script)
    assert first.work_dir != second.work_dir
    assert first.work_dir.parent == tmp_path
    assert texts(lines)[:2] == [str(first.work_dir), "700"]
    assert texts(lines)[2].split() == ["script.sh"]  # no variables file without variables
    assert not first.work_dir.exists() and not second.work_dir.exists()
    assert list(tmp_path.iterdir()) == []


async def test_working_folder_removed_after_failure(tmp_path: Path) -> None:
    result, _ = await run(tmp_path, "mkdir -p deep/er && touch deep/er/f\nchmod 500 deep/er\nexit 9")
    assert result.exit_code == 9
    assert not result.work_dir.exists()


async def test_a_flat_working_folder_made_read_only_is_removed_and_its_links_only(tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-kept.txt"
    outside.write_text("not the script's to delete")
    try:
        result, _ = await run(tmp_path, f"ln -s {outside} link; touch plain; chmod 500 .")
        assert result.exit_code == 0
        assert not result.work_dir.exists()
        assert outside.read_text() == "not the script's to delete"  # the link went, not what it named
    finally:
        outside.unlink()


async def test_keep_work_dir(tmp_path: Path) -> None:
    result, _ = await run(tmp_path, "echo kept > file.txt", keep_work_dir=True, variables={"A": "b"})
    assert (result.work_dir / "file.txt").read_text() == "kept\n"
    assert (result.work_dir / "script.sh").stat().st_mode & 0o777 == 0o600
    shutil.rmtree(result.work_dir)


async def test_work_root_is_created(tmp_path: Path) -> None:
    result, lines = await run(tmp_path / "does" / "not" / "exist", "echo ok")
    assert texts(lines) == ["ok"] and result.work_dir.parent == tmp_path / "does" / "not" / "exist"


async def test_script_removing_its_own_folder_is_fine(tmp_path: Path) -> None:
    result, lines = await run(tmp_path, 'rm -rf "$PWD"\necho gone')
    assert result.exit_code == 0 and texts(lines) == ["gone"]


# --- environment ----------------------------------------------------------------------------------------


async def test_env_is_passed_and_server_settings_are_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARGONAUT_MASTER_KEY", "server-only")
    script = 'echo "${EXTRA-unset} ${ARGONAUT_MASTER_KEY-unset} ${PATH:+path-set}"'
    _, lines = await run(tmp_path, script, env={"EXTRA": "given"})
    assert texts(lines) == ["given unset path-set"]


async def test_concurrent_runs_stay_apart(tmp_path: Path) -> None:
    async def one(n: int) -> tuple[ScriptResult, list[LogEntry]]:
        script = f"for i in 1 2 3; do echo run{n}-$i; sleep 0.01; done\nset_octopusvariable N {n}"
        return await run(tmp_path, script)

    results = await asyncio.gather(*(one(n) for n in range(6)))
    for n, (result, lines) in enumerate(results):
        assert texts(lines) == [f"run{n}-1", f"run{n}-2", f"run{n}-3"]
        assert result.output_variables == (OutputVariable("N", str(n), False),)
    assert len({result.work_dir for result, _ in results}) == 6


# --- process lifetime -----------------------------------------------------------------------------------


async def test_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    started = asyncio.Event()
    seen: dict[str, str] = {}

    def on_log(line: LogEntry) -> None:
        if line.text.startswith("pgid "):
            _, seen["pgid"], seen["child"], seen["pwd"] = line.text.split()
            started.set()

    script = 'sleep 1000 &\necho "pgid $$ $! $PWD"\nwait'
    request = ScriptRequest(script_body=script, syntax="Bash", work_root=tmp_path)
    task = asyncio.create_task(run_script(request, on_log))
    await asyncio.wait_for(started.wait(), 10)
    pgid, child = int(seen["pgid"]), int(seen["child"])
    assert os.getpgid(child) == pgid  # the background job is in the script's group...
    assert pgid != os.getpgid(0)  # ...which is not ours

    started_cancel = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started_cancel < 2.5  # SIGTERM sufficed, no 3 s wait for SIGKILL
    assert live_members(pgid) == []
    await wait_until_group_is_gone(pgid)
    assert not Path(seen["pwd"]).exists()


async def test_cancel_escalates_to_sigkill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_group, "TERMINATE_GRACE_SECONDS", 0.3)
    started = asyncio.Event()
    seen: list[int] = []

    def on_log(line: LogEntry) -> None:
        seen.append(int(line.text))
        started.set()

    # Ignoring SIGTERM is inherited by the child, so only SIGKILL ends either of them.
    script = "trap '' TERM\nsleep 1000 &\necho $$\nwait"
    task = asyncio.create_task(run_script(ScriptRequest(script, "Bash", tmp_path), on_log))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert live_members(seen[0]) == []
    await wait_until_group_is_gone(seen[0])


async def test_background_process_holding_output_does_not_hang_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(execution, "OUTPUT_DRAIN_SECONDS", 0.3)
    started = time.monotonic()
    result, lines = await run(tmp_path, "sleep 30 &\necho $!\necho done")
    try:
        assert time.monotonic() - started < 5
        assert result.exit_code == 0
        assert texts(lines)[1] == "done"
        assert lines[-1].category == "Warning" and "background" in lines[-1].text
    finally:
        os.kill(int(lines[0].text), 9)


async def test_on_log_failure_stops_the_script_and_propagates(tmp_path: Path) -> None:
    class Boom(Exception):
        pass

    def on_log(line: LogEntry) -> None:
        if line.text == "boom":
            raise Boom

    request = ScriptRequest("echo $$ > /dev/null\necho boom\nsleep 1000", "Bash", tmp_path)
    started = time.monotonic()
    with pytest.raises(Boom):
        await run_script(request, on_log)
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []


# --- run as another user --------------------------------------------------------------------------------


def ensure_test_user() -> pwd.struct_passwd:
    """Skip (or, with CI=true, fail) when the test user cannot be had."""
    in_ci = os.environ.get("CI") == "true"
    if os.geteuid() != 0:
        if in_ci:
            pytest.fail("CI must run the runner tests as root so that run_as_user is tested")
        pytest.skip("switching users needs root; run as root (or with CI=true) to test run_as_user")
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        pass
    try:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", TEST_USER], check=True, capture_output=True, text=True
        )
        return pwd.getpwnam(TEST_USER)
    except (OSError, subprocess.CalledProcessError, KeyError) as error:
        detail = getattr(error, "stderr", "") or error
        if in_ci:
            pytest.fail(f"could not create the test user {TEST_USER}: {detail}")
        pytest.skip(f"could not create the test user {TEST_USER}: {detail}")


def test_run_as_user() -> None:
    user = ensure_test_user()
    # pytest's tmp_path lives under a 0700 folder the test user cannot traverse; work_root needs 0711.
    parent = Path(tempfile.mkdtemp(prefix="argonaut-run-as-"))
    try:
        parent.chmod(0o711)
        work_root, artifact_dir = parent / "work", parent / "artifacts"
        script = (
            'id -un\nid -G\npwd\necho "$HOME"\n'
            "touch made-here && stat -c %U made-here\n"
            "get_octopusvariable Greeting\necho\n"
            "echo collected > mine.txt\nnew_octopusartifact mine.txt\nnew_octopusartifact /etc/shadow\n"
        )
        request = ScriptRequest(
            script_body=script,
            syntax="Bash",
            work_root=work_root,
            variables={"Greeting": "hi from root"},
            run_as_user=TEST_USER,
            artifact_dir=artifact_dir,
        )
        lines: list[LogEntry] = []
        result = asyncio.run(run_script(request, lines.append))
        info = [line.text for line in lines if line.category == "Info"]
        assert result.exit_code == 0, pairs(lines)
        assert info[0] == TEST_USER
        assert "0" not in info[1].split()  # none of root's groups
        assert info[2] == str(result.work_dir)
        assert info[3] == user.pw_dir
        assert info[4] == TEST_USER  # the working folder was writable by the user
        assert info[5] == "hi from root"  # and the variables file readable
        [artifact] = result.artifacts
        assert artifact.stored_path.read_text() == "collected\n"
        warnings = [line.text for line in lines if line.category == "Warning"]
        assert len(warnings) == 1 and "/etc/shadow" in warnings[0] and "Permission denied" in warnings[0]
        assert not result.work_dir.exists()
    finally:
        shutil.rmtree(parent)


def test_run_as_user_warns_when_work_root_is_not_searchable(tmp_path: Path) -> None:
    ensure_test_user()
    # tmp_path's parents are 0700 root: the script cannot read its own file by absolute path.
    lines: list[LogEntry] = []
    request = ScriptRequest("echo unreachable", "Bash", tmp_path / "work", run_as_user=TEST_USER)
    result = asyncio.run(run_script(request, lines.append))
    assert lines[0].category == "Warning" and "not searchable" in lines[0].text
    assert result.exit_code != 0


async def test_unknown_run_as_user_fails_before_starting(tmp_path: Path) -> None:
    with pytest.raises(LookupError):
        await run(tmp_path, "echo never", run_as_user="no-such-user-argonaut")
    assert list(tmp_path.iterdir()) == []
