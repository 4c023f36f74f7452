"""The command line in French (or Basque): essmap's messages and those of Typer and Click.

Typer and Click translate their own texts ("Options", "[default: 3]", "[required]", "Try … for
help.") through Python's :mod:`gettext` with the process's text domain, the way both document it:
:func:`install` binds that domain to essmap's catalogues (compiled from the ``.po`` files into a
cache folder when they change) and chooses the language from the environment (``LANGUAGE``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG``), French unless Basque is asked for. The two texts that the
Click bundled with Typer writes without gettext, the help option's and the ``Usage:`` prefix, are
translated by :class:`EssmapCommand` and :class:`EssmapGroup`, which every command uses
(:class:`EssmapTyper`).

:data:`TOOLKIT_MESSAGES` lists (in English, as the libraries write them) the messages essmap's
catalogues translate.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import typer
from babel.messages.mofile import write_mo
from platformdirs import user_cache_path
from typer.core import TyperCommand, TyperGroup

from essmap.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, N_, catalogue, catalogue_path

#: Typer's and Click's messages shown by essmap's command line, translated in the catalogues.
TOOLKIT_MESSAGES: Final = (
    N_("Show this message and exit."),
    N_("Usage:"),
    N_("[default: {}]"),
    N_("[required]"),
    N_("[env var: {}]"),
    N_("(deprecated) "),
    N_("Arguments"),
    N_("Options"),
    N_("Commands"),
    N_("Error"),
    N_("Aborted."),
    N_("Aborted!"),
    N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("default: {default}"),
    N_("required"),
    N_("[OPTIONS]"),
    N_("COMMAND [ARGS]..."),
)
#: Placeholders of the usage line, translated as a whole.
METAVARS: Final = frozenset({"[OPTIONS]", "COMMAND [ARGS]..."})


def cli_language(environ: Mapping[str, str]) -> str:
    """The language of the command line: the first one the environment names that essmap speaks
    (``LANGUAGE`` may list several, separated by ``:``), else French."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if not value:
            continue
        for part in value.split(":"):
            base = part.split(".")[0].split("_")[0].split("-")[0].lower()
            if base in LANGUAGES:
                return base
        break  # the first variable set decides, as gettext reads them
    return DEFAULT_LANGUAGE


def compiled_catalogues() -> Path | None:
    """A folder holding essmap's catalogues compiled for gettext (``<lang>/LC_MESSAGES/essmap.mo``),
    made once per version of the ``.po`` files, in the user's cache folder (or the temporary
    folder); None when neither can be written."""
    digest = hashlib.sha256()
    for lang in LANGUAGES:
        path = catalogue_path(lang)
        digest.update(path.read_bytes() if path.is_file() else b"")
    name = f"locale-{digest.hexdigest()[:16]}"
    for base in (user_cache_path("essmap", appauthor=False), Path(tempfile.gettempdir()) / "essmap"):
        folder = base / name
        try:
            for lang in LANGUAGES:
                found = catalogue(lang)
                target = folder / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
                if found is None or target.is_file():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(f".{os.getpid()}.tmp")
                with partial.open("wb") as handle:
                    write_mo(handle, found)
                partial.replace(target)
            return folder
        except OSError:
            continue
    return None


def install(environ: dict[str, str] | None = None) -> str:
    """Make Typer and Click speak the command line's language; returns it (``fr`` or ``eu``).

    Call it before any help is shown (Typer reads some of its texts when it first formats help).
    """
    env = os.environ if environ is None else environ
    lang = cli_language(env)
    folder = compiled_catalogues()
    if folder is not None:
        gettext.bindtextdomain(DOMAIN, str(folder))
        gettext.textdomain(DOMAIN)
        # gettext's own choice of language: the chosen one, then French for what it lacks
        env["LANGUAGE"] = lang if lang == DEFAULT_LANGUAGE else f"{lang}:{DEFAULT_LANGUAGE}"
    return lang


class _Translated:
    """The help option and the usage line of a command, translated (mixed into Typer's classes)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = gettext.gettext("Show this message and exit.")
        return option

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        pieces = [
            gettext.gettext(piece) if piece in METAVARS else piece
            for piece in self.collect_usage_pieces(ctx)  # type: ignore[attr-defined]
        ]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=gettext.gettext("Usage:") + " ")


class EssmapCommand(_Translated, TyperCommand):
    """A Typer command whose help option and usage line are translated."""


class EssmapGroup(_Translated, TyperGroup):
    """A Typer group whose help option and usage line are translated."""


class EssmapTyper(typer.Typer):
    """``typer.Typer`` whose groups and commands are :class:`EssmapGroup` and :class:`EssmapCommand`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", EssmapGroup)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or EssmapCommand, **kwargs)
