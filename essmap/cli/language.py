"""The command line in French (or Basque): essmap's messages and those of Typer and Click.

Typer and Click translate their own texts ("Options", "[default: 3]", "[required]", "Try … for
help.") through Python's :mod:`gettext` with the process's text domain, the way both document it:
:func:`install` binds that domain to essmap's catalogues (compiled from the ``.po`` files into a
cache folder when they change) and chooses the language from the environment (``LANGUAGE``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG``), French unless Basque is asked for. The two texts that the
Click bundled with Typer writes without gettext, the help option's and the ``Usage:`` prefix, are
translated by :class:`EssmapCommand` and :class:`EssmapGroup`, which every command uses
(:class:`EssmapTyper`). So are the usage errors that Click writes without gettext (a missing
argument, an unknown option, arguments in excess) and the value errors Typer takes from pydantic
(:func:`usage_error_text`, through essmap's table of pydantic errors, :mod:`essmap.validation`).

:data:`TOOLKIT_MESSAGES` lists (in English, as the libraries write them) the messages essmap's
catalogues translate.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Final

import typer
from babel.messages.mofile import write_mo
from platformdirs import user_cache_path
from pydantic import ValidationError
from typer._click.exceptions import (  # Typer's own Click: its messages are plain English
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperCommand, TyperGroup

from essmap.i18n import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, N_, catalogue, catalogue_path
from essmap.validation import echo_value, validation_message

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


_EXTRA_ARGUMENTS = re.compile(r"^Got unexpected extra arguments? ?(?:\(s\))? \((?P<args>.*)\)$", re.DOTALL)


def _name(param: Any) -> str:
    """A parameter as the command line writes it: ``--max-distance`` for an option, ``lon`` for an
    argument."""
    opts = [o for o in getattr(param, "opts", ()) if o.startswith("--")] or list(getattr(param, "opts", ()))
    return opts[0] if opts and getattr(param, "param_type_name", "") == "option" else str(param.name)


def _choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)
    found = getattr(descriptor, "choices", None) or ()
    return [str(c.value if isinstance(c, Enum) else c) for c in found]


def _bad_value_text(exc: BadParameter) -> str:
    _ = gettext.gettext
    param = exc.param
    name = _name(param) if param is not None else str(exc.param_hint or "")
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        error = cause.errors()[0]
        choices = _choices(param) if param is not None else []
        if choices and error["type"] == "value_error":
            why = _("valeur non reconnue ; valeurs possibles : {expected}").format(
                expected=", ".join(choices)
            )
        else:
            why = validation_message(error, translate=_)
        value = error.get("input")
        if isinstance(value, str | int | float):
            why = _("{message} (reçu : « {value} »)").format(
                message=why, value=echo_value(value, translate=_)
            )
    else:
        why = exc.message
    return _("valeur invalide pour « {name} » : {reason}").format(name=name, reason=why)


def usage_error_text(exc: UsageError) -> str:
    """The message of a usage error of Click or Typer, in the command line's language."""
    _ = gettext.gettext
    if isinstance(exc, MissingParameter):
        name = _name(exc.param) if exc.param is not None else str(exc.param_hint or "")
        if exc.param_type == "option" or getattr(exc.param, "param_type_name", "") == "option":
            return _("option « {name} » obligatoire absente").format(name=name)
        return _("argument « {name} » manquant").format(name=name)
    if isinstance(exc, BadParameter):
        return _bad_value_text(exc)
    if isinstance(exc, NoSuchOption):
        text = _("option inconnue : {name}").format(name=exc.option_name)
        if exc.possibilities:
            text += " " + _("(options proches : {names})").format(names=", ".join(sorted(exc.possibilities)))
        return text
    if isinstance(exc, BadOptionUsage):
        if exc.message.endswith("does not take a value."):
            return _("l'option « {name} » ne prend pas de valeur").format(name=exc.option_name)
        if " requires " in exc.message:
            return _("l'option « {name} » demande une valeur").format(name=exc.option_name)
        return exc.message
    extra = _EXTRA_ARGUMENTS.match(exc.message)
    if extra:
        args = extra.group("args")
        if any(arg.startswith("-") for arg in args.split()):
            return _("option inconnue ou argument en trop : {args}").format(args=args)
        return _("argument(s) en trop : {args}").format(args=args)
    return exc.message


class _Translated:
    """The help option, the usage line and the usage errors of a command, translated (mixed into
    Typer's classes)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except UsageError as exc:
            raise UsageError(usage_error_text(exc), ctx=exc.ctx or ctx) from exc

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
