"""``xltools addin build|install|uninstall`` (argparse).

The main CLI calls :func:`register` with its subparsers object; every subcommand
sets ``func`` to a handler taking the parsed namespace and returning an exit code.
The build/install modules are imported inside the handlers, so registering the
subcommand costs nothing at start-up.

Standalone: ``python -m xltools.addin.cli addin build -o xltools.xlam``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["register", "main"]


def _build(args: argparse.Namespace) -> int:
    from .xlam import build_xlam, build_xlsm

    out = Path(args.output)
    try:
        if args.xlsm or out.suffix.lower() == ".xlsm":
            build_xlsm(out, args.macros)
        else:
            build_xlam(out, args.macros)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"生成加载项失败：{exc}", file=sys.stderr)
        return 1
    print(f"已生成：{out.resolve()}")
    return 0


def _install(args: argparse.Namespace) -> int:
    from .install import install

    return install(
        args.xlstart,
        config_path=args.config,
        addin=args.addin,
        macros_dir=args.macros,
        dry_run=args.dry_run,
    )


def _uninstall(args: argparse.Namespace) -> int:
    from .install import uninstall

    return uninstall(args.xlstart, config_path=args.config, dry_run=args.dry_run)


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> argparse.ArgumentParser:
    """Add the ``addin`` subcommand (with build / install / uninstall) to ``subparsers``."""
    addin = subparsers.add_parser(
        "addin",
        help="Excel 加载项：生成、安装、卸载",
        description="xltools Excel 加载项（功能区“公开表”选项卡）的生成、安装与卸载。",
    )
    sub = addin.add_subparsers(dest="addin_command", metavar="{build,install,uninstall}")
    sub.required = True

    p = sub.add_parser("build", help="生成 xltools.xlam", description="由 macros/ 生成加载项文件。")
    p.add_argument("-o", "--output", default="xltools.xlam", help="输出文件（默认 xltools.xlam；.xlsm 则生成普通启用宏的工作簿）")
    p.add_argument("--macros", type=Path, default=None, help="VBA 源文件目录（默认：仓库的 macros/）")
    p.add_argument("--xlsm", action="store_true", help="生成 .xlsm 而不是加载项")
    p.set_defaults(func=_build)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--xlstart", type=Path, default=None, help="Excel 启动文件夹 XLSTART（默认自动查找）")
    common.add_argument("--config", type=Path, default=None, help="xltools.conf 配置文件路径（默认自动确定）")
    common.add_argument("--dry-run", action="store_true", help="只显示将要做什么，不写入任何文件")

    p = sub.add_parser(
        "install",
        parents=[common],
        help="安装到 Excel 并配置 Python",
        description="把加载项放入 Excel 的 XLSTART 文件夹，并让加载项使用当前的 Python 解释器。",
    )
    p.add_argument("--addin", type=Path, default=None, help="使用已生成的 .xlam（默认现场生成）")
    p.add_argument("--macros", type=Path, default=None, help="VBA 源文件目录（默认：仓库的 macros/）")
    p.set_defaults(func=_install)

    p = sub.add_parser("uninstall", parents=[common], help="从 Excel 卸载", description="删除加载项及其配置。")
    p.set_defaults(func=_uninstall)
    return addin


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xltools")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
