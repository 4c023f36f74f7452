"""Running the ``essmap`` command inside the test process."""

from __future__ import annotations

import pytest

from essmap.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the essmap command in this process; returns (exit status, stdout, stderr).

    At the usual CPU priority: an import lowers its process's, here the whole test run's
    (tests/test_cli_data.py checks it in a process of its own).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ESSMAP_BACKGROUND_NICENESS", "0")
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
