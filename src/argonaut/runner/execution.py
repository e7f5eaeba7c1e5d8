"""``run_script``: one script, start to finish.

The hot path (a short script, no variables, no artifacts) is kept to what cannot be avoided: one
folder, one file, one process, no extra thread hops or timers, so the runner adds little to the
interpreter's own start-up time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from argonaut.domain.masking import Masker
from argonaut.domain.substitution import substitute
from argonaut.runner.accounts import RunAs, resolve_run_as, spawn_options, unreachable_ancestor
from argonaut.runner.artifacts import collect_artifacts
from argonaut.runner.environment import script_environment
from argonaut.runner.interpreters import (
    SCRIPT_FILE_NAMES,
    VARIABLES_FILE_NAME,
    command_line,
    executable_for,
    located,
)
from argonaut.runner.model import LogEntry, ScriptRequest, ScriptResult
from argonaut.runner.output import ScriptOutput
from argonaut.runner.pipes import OutputPipes
from argonaut.runner.process_group import terminate_group
from argonaut.runner.workspace import create_work_dir, encode_variables, remove_work_dir, write_private_file

# After the script exits, how long to keep reading output that its background processes still write.
# Such a process may hold the pipes open for ever (`server &`); the run must end anyway.
OUTPUT_DRAIN_SECONDS = 2.0

_COMMAND_NOT_FOUND = 127


async def run_script(request: ScriptRequest, on_log: Callable[[LogEntry], None]) -> ScriptResult:
    """Run ``request.script_body`` in a fresh working folder and report what it did.

    Raises LookupError (unknown ``run_as_user``) or PermissionError (switching users needs root) before
    anything is started. See ``api_contract.md`` for the rest of the contract.
    """
    run_as = resolve_run_as(request.run_as_user)
    masker = Masker(request.sensitive_values)
    output = ScriptOutput(on_log, masker)
    script_body = substitute(request.script_body, request.variables)

    work_dir = create_work_dir(request.work_root, run_as)
    try:
        if run_as is not None and (blocked := unreachable_ancestor(work_dir.parent, run_as)) is not None:
            output.log(
                "Warning",
                f"The user {run_as.name} may not be able to reach its working folder: {blocked} is not "
                "searchable by it. Make work_root and its parents searchable (e.g. mode 0711).",
            )
        script_path = work_dir / SCRIPT_FILE_NAMES[request.syntax]
        variables_path = work_dir / VARIABLES_FILE_NAME
        write_private_file(script_path, script_body.encode("utf-8"), run_as)
        if request.variables:
            write_private_file(variables_path, encode_variables(request.variables), run_as)
        argv = command_line(request.syntax, script_path, variables_path, request.runner)
        returncode = await _execute(argv, work_dir, request, run_as, output)
        exit_code = returncode if returncode >= 0 else 128 - returncode  # killed by signal N: 128+N
        artifacts = await collect_artifacts(
            output.artifact_requests, work_dir, request.artifact_dir, run_as, _warner(output)
        )
    finally:
        if not request.keep_work_dir:
            await remove_work_dir(work_dir, _warner(output))

    return ScriptResult(
        exit_code=exit_code,
        output_variables=output.output_variables,
        artifacts=artifacts,
        failure_message=output.failure(exit_code),
        work_dir=work_dir,
    )


async def _execute(
    argv: list[str], work_dir: Path, request: ScriptRequest, run_as: RunAs | None, output: ScriptOutput
) -> int:
    loop = asyncio.get_running_loop()
    env = script_environment(request.env, run_as)
    pipes = OutputPipes(loop)
    try:
        await pipes.connect(output.stdout_line, output.stderr_line)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                executable=executable_for(argv, env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=pipes.stdout_fd,
                stderr=pipes.stderr_fd,
                cwd=work_dir,
                env=env,
                start_new_session=True,  # its own process group, so cancelling reaches its children
                **spawn_options(run_as, loop),
            )
        except FileNotFoundError:
            if located(argv[0], env) is not None:
                raise
            # A worker without python3 is a reason to fail the step, not to crash the worker: report it
            # the way a shell reports a missing command.
            output.result_message = f"{argv[0]} was not found on this machine, so the script could not start"
            output.log("Error", output.result_message)
            return _COMMAND_NOT_FOUND
        finally:
            pipes.close_child_ends()
        try:
            return await _wait(process, pipes, output)
        except BaseException:
            await terminate_group(process)
            raise
    finally:
        pipes.close()


async def _wait(process: asyncio.subprocess.Process, pipes: OutputPipes, output: ScriptOutput) -> int:
    exited = asyncio.ensure_future(process.wait())
    try:
        await asyncio.wait((exited, pipes.failed), return_when=asyncio.FIRST_COMPLETED)
        pipes.raise_if_failed()
        if not pipes.closed.done():
            await asyncio.wait((pipes.closed, pipes.failed), timeout=OUTPUT_DRAIN_SECONDS)
            pipes.raise_if_failed()
            if not pipes.closed.done():
                output.log(
                    "Warning",
                    "The script exited but processes it started in the background still hold its output "
                    "open; their further output is not captured.",
                )
        return exited.result()
    finally:
        if not exited.done():
            exited.cancel()


def _warner(output: ScriptOutput) -> Callable[[str], None]:
    return lambda message: output.log("Warning", message)
