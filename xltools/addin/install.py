"""Install / uninstall the xltools add-in for the current user.

``install`` puts ``xltools.xlam`` in Excel's per-user startup folder (XLSTART), so
Excel loads it at every start, and writes the config that xlwings' VBA reads to find
Python. The config points at *this* interpreter (``sys.executable``): the one that
has xltools and xlwings installed. A wrong or missing interpreter is the most common
reason a RunPython button fails.

Where things go:

===========  ==========================================================  =====================================================
platform     XLSTART                                                     config file (read by GetConfig in the xlwings module)
===========  ==========================================================  =====================================================
Windows      ``%APPDATA%\\Microsoft\\Excel\\XLSTART``                   ``%USERPROFILE%\\.xltools\\xltools.conf``
macOS        ``~/Library/Group Containers/UBF8T346G9.Office/User         ``~/Library/Containers/com.microsoft.Excel/Data/
             Content.localized/Startup.localized/Excel``                 xltools.conf``
===========  ==========================================================  =====================================================

The config file has the format VBA's ``Write #`` produces and ``Input #`` reads:
one ``"KEY","VALUE"`` pair per line, in the system's ANSI code page on Windows.
Other keys already in the file (e.g. ``CONDA PATH``) are kept.

On a machine without Excel (Linux, or no Excel folder yet) nothing is written and
the exit code is 0.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

__all__ = [
    "ADDIN_FILENAME",
    "find_xlstart",
    "default_config_path",
    "read_config",
    "render_config",
    "install",
    "uninstall",
]

ADDIN_FILENAME = "xltools.xlam"
CONFIG_DIRNAME = ".xltools"
CONFIG_FILENAME = "xltools.conf"
MAC_OFFICE_GROUP = "Library/Group Containers/UBF8T346G9.Office"
MAC_STARTUP = MAC_OFFICE_GROUP + "/User Content.localized/Startup.localized/Excel"
MAC_CONTAINER_DATA = "Library/Containers/com.microsoft.Excel/Data"
MAC_SCRIPTS = "Library/Application Scripts/com.microsoft.Excel"

#: Keys this installer owns (removed again by uninstall).
OWNED_KEYS = ("INTERPRETER_WIN", "INTERPRETER_MAC", "ADD_WORKBOOK_TO_PYTHONPATH")

Out = Callable[[str], None]


def _is_windows(platform: str) -> bool:
    return platform.startswith("win")


def _is_mac(platform: str) -> bool:
    return platform == "darwin"


def find_xlstart(
    platform: str = sys.platform,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> Path | None:
    """Excel's per-user startup folder, or None when Excel does not seem installed.

    The folder itself may not exist yet; its parent (created by Excel's first start)
    must.
    """
    home = Path.home() if home is None else home
    if _is_windows(platform):
        appdata = env.get("APPDATA")
        if not appdata:
            return None
        excel_dir = Path(appdata) / "Microsoft" / "Excel"
        return excel_dir / "XLSTART" if excel_dir.is_dir() else None
    if _is_mac(platform):
        if not (home / MAC_OFFICE_GROUP).is_dir():
            return None
        return home / MAC_STARTUP
    return None


def default_config_path(
    platform: str = sys.platform,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> Path:
    """Where xlwings' VBA (PROJECT_NAME = "xltools") looks for the user config file."""
    home = Path.home() if home is None else home
    if _is_windows(platform):
        profile = Path(env.get("USERPROFILE") or home)
        return profile / CONFIG_DIRNAME / CONFIG_FILENAME
    if _is_mac(platform):
        return home / MAC_CONTAINER_DATA / CONFIG_FILENAME
    return home / CONFIG_DIRNAME / CONFIG_FILENAME


def _config_encoding(platform: str) -> str:
    # VBA file I/O uses the ANSI code page on Windows ("mbcs" in Python there);
    # elsewhere (tests on Linux) use GBK, the ANSI code page of Chinese Windows.
    if _is_windows(platform):
        return "mbcs" if sys.platform.startswith("win") else "gbk"
    return "utf-8"


def _unquote(field: str) -> str:
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1]
    return field


def read_config(path: Path, platform: str = sys.platform) -> dict[str, str]:
    """Parse a ``"KEY","VALUE"`` config file; keys upper-cased. Missing file: {}."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    text = raw.decode(_config_encoding(platform), errors="replace")
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(",")
        if not sep:
            continue
        values[_unquote(key).upper()] = _unquote(value)
    return values


def render_config(values: Mapping[str, str]) -> str:
    """The file text, one ``"KEY","VALUE"`` line each (what VBA's ``Write #`` writes)."""
    for k, v in values.items():
        if '"' in k or '"' in v or "\n" in v or "\r" in v:
            raise ValueError(f"config value cannot contain quotes or line breaks: {k}={v!r}")
    return "".join(f'"{k}","{v}"\r\n' for k, v in values.items())


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@dataclass(frozen=True)
class _Target:
    xlstart: Path
    config: Path


def _resolve(
    xlstart: Path | None, config_path: Path | None, platform: str, out: Out
) -> _Target | None:
    if xlstart is None:
        found = find_xlstart(platform)
        if found is None:
            if _is_windows(platform) or _is_mac(platform):
                out(
                    "未检测到 Excel（找不到 Excel 的用户启动文件夹 XLSTART 的上级目录）。"
                    "请先安装并至少启动一次 Excel，然后重新运行：xltools addin install"
                )
            else:
                out(
                    "本机不是 Windows 或 macOS，没有 Excel，无需安装加载项，未写入任何文件。"
                    "（可用 xltools addin build 生成 xltools.xlam 后拷贝到装有 Excel 的电脑。）"
                )
            return None
        xlstart = found
    elif not xlstart.parent.is_dir():
        out(f"指定的 XLSTART 目录的上级目录不存在：{xlstart.parent}，未写入任何文件。")
        return None
    return _Target(Path(xlstart), config_path or default_config_path(platform))


def install(
    xlstart: Path | None = None,
    *,
    config_path: Path | None = None,
    addin: Path | None = None,
    macros_dir: Path | None = None,
    interpreter: str | None = None,
    dry_run: bool = False,
    platform: str = sys.platform,
    out: Out = print,
) -> int:
    """Install the add-in; returns the process exit code (0 also when Excel is absent).

    ``addin``: copy this prebuilt .xlam; default: build it from ``macros_dir``
    straight into XLSTART (so it carries the VBA of the xlwings installed here).
    """
    target = _resolve(xlstart, config_path, platform, out)
    if target is None:
        return 0
    interpreter = interpreter or sys.executable
    if not interpreter:
        out("无法确定当前 Python 解释器的路径（sys.executable 为空），未安装。")
        return 1
    dest = target.xlstart / ADDIN_FILENAME
    key = "INTERPRETER_MAC" if _is_mac(platform) else "INTERPRETER_WIN"
    config = read_config(target.config, platform)
    config[key] = interpreter
    # Do not put the user's workbook folder on sys.path: a stray docx.py or
    # xltools.py next to a 公开表 would shadow the real packages.
    config["ADD_WORKBOOK_TO_PYTHONPATH"] = "False"
    try:
        config_bytes = render_config(config).encode(_config_encoding(platform))
    except UnicodeEncodeError:
        out(
            f"Python 路径含有当前系统编码无法表示的字符：{interpreter}\n"
            "Excel 无法读取这样的路径。请把 Python 安装到只含英文字母和数字的路径后重试。"
        )
        return 1
    except ValueError as exc:
        out(f"配置无效：{exc}")
        return 1

    script = None
    if _is_mac(platform):
        import xlwings

        src = Path(xlwings.__file__).resolve().parent / f"xlwings-{xlwings.__version__}.applescript"
        script = (src, Path.home() / MAC_SCRIPTS / src.name)

    prefix = "[演习，不写入] " if dry_run else ""
    out(f"{prefix}加载项：{dest}")
    out(f"{prefix}配置文件：{target.config}")
    out(f"{prefix}  {key} = {interpreter}")
    if script:
        out(f"{prefix}RunPython 脚本：{script[1]}")
    if dry_run:
        return 0

    try:
        target.xlstart.mkdir(parents=True, exist_ok=True)
        if addin is not None:
            _atomic_write(dest, Path(addin).read_bytes())
        else:
            from .xlam import build_xlam

            build_xlam(dest, macros_dir)
        _atomic_write(target.config, config_bytes)
        if script:
            script[1].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(script[0], script[1])
    except PermissionError as exc:
        out(f"没有权限写入：{exc.filename}\n如果 Excel 正在运行，请先完全退出 Excel 再安装。")
        return 1
    except (OSError, RuntimeError) as exc:
        out(f"安装失败：{exc}")
        return 1
    out("安装完成。请重新启动 Excel，功能区会出现“公开表”选项卡。")
    return 0


def uninstall(
    xlstart: Path | None = None,
    *,
    config_path: Path | None = None,
    dry_run: bool = False,
    platform: str = sys.platform,
    out: Out = print,
) -> int:
    """Remove the add-in and the config keys ``install`` wrote."""
    target = _resolve(xlstart, config_path, platform, out)
    if target is None:
        return 0
    dest = target.xlstart / ADDIN_FILENAME
    config = read_config(target.config, platform)
    remaining = {k: v for k, v in config.items() if k not in OWNED_KEYS}
    prefix = "[演习，不写入] " if dry_run else ""
    if dest.exists():
        out(f"{prefix}删除加载项：{dest}")
    else:
        out(f"加载项不存在：{dest}")
    if config:
        out(f"{prefix}{'更新' if remaining else '删除'}配置文件：{target.config}")
    if dry_run:
        return 0
    try:
        if dest.exists():
            dest.unlink()
        if config:
            if remaining:
                _atomic_write(
                    target.config, render_config(remaining).encode(_config_encoding(platform))
                )
            else:
                target.config.unlink()
                if target.config.parent.name == CONFIG_DIRNAME:
                    try:
                        target.config.parent.rmdir()
                    except OSError:
                        pass  # not empty: leave it
    except PermissionError as exc:
        out(f"没有权限删除：{exc.filename}\n如果 Excel 正在运行，请先完全退出 Excel 再卸载。")
        return 1
    out("卸载完成。")
    return 0
