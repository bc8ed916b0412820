"""argparse in Chinese: usage, help and error messages of the command line.

argparse builds its texts with gettext from English templates. Rather than installing a process-wide
translation (which would also change the messages of any other argparse user in the process, such as
pytest), the parser below sets its own titles and help texts and translates its error messages by
template, keeping argparse's own text for anything it does not know.
"""
from __future__ import annotations

import argparse
import re
import sys

__all__ = ["ChineseArgumentParser", "translate_error", "safe_streams"]

# argparse's error templates (Python 3.10–3.13) → Chinese; groups are kept in order
_ERRORS: list[tuple[re.Pattern, str]] = [(re.compile(p, re.S), t) for p, t in (
    (r"^the following arguments are required: (.*)$", r"缺少必需的参数：\1"),
    (r"^unrecognized arguments: (.*)$", r"无法识别的参数：\1"),
    (r"^invalid choice: (.*?) \(choose from (.*)\)$", r"无效的选项 \1（可选：\2）"),
    (r"^invalid int value: (.*)$", r"\1 不是整数"),
    (r"^invalid float value: (.*)$", r"\1 不是数字"),
    (r"^invalid (\S+) value: (.*)$", r"\2 不是有效的值（\1）"),
    (r"^expected one argument$", "需要一个值"),
    (r"^expected at most one argument$", "最多需要一个值"),
    (r"^expected at least one argument$", "至少需要一个值"),
    (r"^expected (\d+) arguments?$", r"需要 \1 个值"),
    (r"^not allowed with argument (.*)$", r"不能与参数 \1 同时使用"),
    (r"^ambiguous option: (.*?) could match (.*)$", r"选项 \1 有歧义，可能是：\2"),
    (r"^one of the arguments (.*) is required$", r"参数 \1 必须给出其中一个"),
    (r"^ignored explicit argument (.*)$", r"忽略了多余的值 \1"),
    (r"^unexpected option string: (.*)$", r"意外的选项：\1"),
)]


def translate_error(message: str) -> str:
    """argparse's English error message → Chinese (unknown messages are returned unchanged)."""
    m = re.match(r"^argument (.+?): (.*)$", message, re.S)
    if m:
        name = m.group(1)
        if name in ("command", "命令"):
            name = "命令"
        return f"参数 {name}：{translate_error(m.group(2))}"
    for pattern, repl in _ERRORS:
        if repl is None:
            continue
        if pattern.match(message):
            return pattern.sub(repl, message)
    return message


_METAVARS = {
    "output": "输出", "set": "报表集", "variant": "版式", "unit": "单位", "year": "年度", "data": "数据文件夹",
    "units": "单位清单", "jobs": "进程数", "paths": "工作簿或文件夹", "summary": "汇总工作簿", "file": "工作簿",
    "text": "情况说明", "against": "工作簿", "sheet": "页名", "macros": "目录", "xlstart": "目录",
    "config": "配置文件", "addin": "加载项", "table": "表", "count": "行数",
}


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage, help and errors are Chinese; subcommand parsers are of the same
    class (argparse creates them with ``type(parent)``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "显示本帮助并退出"

    def add_argument(self, *args, **kwargs):
        # a Chinese placeholder instead of the upper-cased English dest (--year 年度, 工作簿 …)
        if "metavar" not in kwargs and "choices" not in kwargs and kwargs.get("action") in (None, "store", "append"):
            dest = kwargs.get("dest") or next((a.lstrip("-") for a in args if a.startswith("--")),
                                              args[0] if args else "")
            name = _METAVARS.get(str(dest).replace("-", "_"))
            if name:
                kwargs["metavar"] = name
        return super().add_argument(*args, **kwargs)

    def format_help(self) -> str:
        # section headings end with a Chinese colon (argparse appends ":")
        return re.sub(r"^([^\s:][^\n:]*):$", r"\1：", super().format_help(), flags=re.M)

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("parser_class", type(self))
        return super().add_subparsers(**kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}：错误：{translate_error(str(message))}\n")


# characters outside GBK / cp936 that our messages use, and what a GBK console shows instead
_FALLBACK = {"\u2212": "-", "\u2013": "-", "\u2011": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
             "\u2713": "√", "\u2714": "√", "\u2717": "×", "\u2718": "×", "\u2026": "…", "\u00b7": "·",
             "\u2248": "≈", "\u00b1": "±"}


def _fallback(err: UnicodeEncodeError):
    out = []
    for ch in err.object[err.start:err.end]:
        rep = _FALLBACK.get(ch, "?")
        try:
            rep.encode(err.encoding)
        except (UnicodeEncodeError, LookupError):
            rep = "?"
        out.append(rep)
    return "".join(out), err.end


def safe_streams() -> None:
    """Let stdout/stderr print any text on any console or redirected file: characters the encoding
    (GBK on Chinese Windows, PYTHONIOENCODING=gbk) cannot hold are replaced ("−" U+2212 → "-")
    instead of raising UnicodeEncodeError halfway through a report."""
    import codecs

    try:
        codecs.lookup_error("xltools-replace")
    except LookupError:
        codecs.register_error("xltools-replace", _fallback)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is None or not hasattr(stream, "reconfigure"):
            continue
        if (getattr(stream, "errors", None) or "strict") != "strict":
            continue
        try:
            stream.reconfigure(errors="xltools-replace")
        except (ValueError, OSError, AttributeError):
            pass
