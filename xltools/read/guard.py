"""Bounded reading of untrusted input, before any parser sees it.

Every file xltools reads (workbooks, data folders, unit lists, 说明事项, narrative texts) may come from
someone else. The functions here refuse, with a Chinese message naming the file, what would make a
parser allocate without bound, hang or resolve an XML entity:

* :func:`regular_file` / :func:`read_bytes` — only regular files (a FIFO, a device, ``/dev/zero`` behind
  a symlink, a folder are refused before ``open``), and never more than a size cap;
* :func:`decode_text` — UTF-8 (with or without BOM), UTF-16 (with BOM), GB18030/GBK; anything else is
  refused naming the line;
* :func:`load_yaml` — ``yaml.safe_load`` semantics (no Python tags) with a size cap and a cap on the
  node count *after* alias expansion and on nesting depth (an alias bomb is refused in milliseconds);
* :func:`check_zip` / :func:`check_workbook` — a zip container (.xlsx/.xlsm/.docx) is inspected with
  :mod:`zipfile` first: not encrypted, entry and total uncompressed sizes and the compression ratio
  bounded; every XML part is streamed in chunks and refused if it declares a DOCTYPE or ENTITY; every
  worksheet's cells actually present are bounded (rows, columns,
  cells) *before* python-calamine allocates its dense range (which aborts the process on a cell at
  XFD1048576);
* :func:`check_pdf` — a PDF's Flate streams inflate to at most MAX_PDF_INFLATED together (pdfminer
  inflates each stream whole);
* :func:`check_amount` — an amount beyond :data:`MAX_AMOUNT_DIGITS` integer digits (a 400-digit number,
  ``inf``) is refused naming the cell, instead of overflowing Decimal arithmetic later.

Limits (generous for real workbooks — a department of 500 项 rows is well inside them; see
``benchmarks/bench_untrusted.py``) are module constants so that they are documented in one place.
The module imports nothing from xltools (every reader may use it). Each function raises ``error``
(default :class:`InputError`), so a reader can raise its own error type (ReadError, DataError …).
"""
from __future__ import annotations

import errno
import functools
import itertools
import operator
import os
import re
import stat
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

__all__ = ["InputError", "regular_file", "read_bytes", "read_text", "decode_text", "load_yaml", "check_zip",
           "check_workbook", "WorkbookGuard", "check_pdf", "check_amount", "check_report_amounts", "check_meta_rows", "os_error_text",
           "MAX_WORKBOOK_BYTES", "MAX_ENTRY_BYTES", "MAX_TOTAL_BYTES", "MAX_RATIO", "MAX_ROWS", "MAX_COLS",
           "MAX_CELLS", "MAX_TEXT_BYTES", "MAX_YAML_BYTES", "MAX_YAML_NODES", "MAX_YAML_DEPTH",
           "MAX_AMOUNT_DIGITS"]

# ---------------------------------------------------------------- limits
MAX_WORKBOOK_BYTES = 64 * 2**20     # a workbook file on disk (a real 公开表 workbook is 50–500 KB)
MAX_ENTRY_BYTES = 128 * 2**20       # one zip entry, uncompressed (a worksheet's XML, sharedStrings …)
MAX_TOTAL_BYTES = 384 * 2**20       # all entries together, uncompressed
MAX_RATIO = 100                     # uncompressed / compressed, for entries above RATIO_FLOOR
RATIO_FLOOR = 2**20                 # small entries may compress better (an empty sheet is 50:1)
MAX_ENTRIES = 10_000                # members of one zip
MAX_ROWS = 100_000                  # rows of one worksheet (last used row, counted from row 1)
MAX_COLS = 1_000                    # columns of one worksheet (column ALL)
MAX_CELLS = 5_000_000               # rows × columns of the area from A1 to the last used cell
MAX_TEXT_BYTES = 32 * 2**20         # a CSV data file, unit list or narrative text
MAX_YAML_BYTES = 4 * 2**20          # meta.yaml, notes.yaml, <ID>.yaml
MAX_YAML_NODES = 200_000            # YAML nodes counted with every alias expanded
MAX_YAML_DEPTH = 64                 # YAML nesting
MAX_AMOUNT_DIGITS = 15              # integer digits of an amount (999 万亿 元)
_CHUNK = 1 << 20


class InputError(ValueError):
    """An input file is refused; the message (Chinese) names the file and where."""


def _mb(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} 字节"


# ---------------------------------------------------------------- files

def regular_file(path, what: str = "文件", *, error=InputError, limit: int | None = None) -> os.stat_result:
    """os.stat(path) (following symlinks) of a regular file no larger than ``limit``; otherwise ``error``.

    A FIFO would block ``open``; a device (``/dev/zero``, also behind a symlink) never ends."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"找不到{what}：{path}") from None
    except OSError as exc:
        raise error(f"{what} {path} 无法访问：{os_error_text(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {path} 是文件夹，不是文件") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path} 不是普通文件（是管道、设备或套接字），拒绝读取")
    if limit is not None and st.st_size > limit:
        raise error(f"{what} {path} 太大：{_mb(st.st_size)}，上限 {_mb(limit)}")
    return st


def read_bytes(path, limit: int = MAX_TEXT_BYTES, what: str = "文件", *, error=InputError) -> bytes:
    """The bytes of a regular file, at most ``limit``; opened non-blocking and checked again after open
    (the file may be swapped for a FIFO between stat and open)."""
    path = Path(path)
    regular_file(path, what, error=error, limit=limit)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise error(f"{what} {path} 无法打开：{os_error_text(exc)}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise error(f"{what} {path} 不是普通文件（是管道、设备或套接字），拒绝读取")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise error(f"{what} {path} 太大：超过上限 {_mb(limit)}")
    return data


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(data: bytes, name: str, *, error=InputError) -> str:
    """Text of a data file: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030 (GBK is a subset).

    Anything else (UTF-16 without a BOM, NUL bytes, bytes that are not GB18030) is refused naming the
    line of the first bad byte."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError as exc:
                raise error(f"{name} 第 {_line_of(data, exc.start, 2)} 行：不是有效的 {enc.upper()} 文字"
                            f"（{exc.reason}）") from None
            return _no_nul(text, name, error)
    try:
        return _no_nul(data.decode("utf-8"), name, error)
    except UnicodeDecodeError as first:
        try:
            return _no_nul(data.decode("gb18030"), name, error)
        except UnicodeDecodeError:
            raise error(f"{name} 第 {_line_of(data, first.start)} 行：文字编码无法识别"
                        f"（只支持 UTF-8、GBK/GB18030 和带 BOM 的 UTF-16，请另存为 UTF-8）") from None


def _line_of(data: bytes, pos: int, width: int = 1) -> int:
    if width == 2:
        return data[:pos].replace(b"\x00", b"").count(b"\n") + 1
    return data.count(b"\n", 0, pos) + 1


def _no_nul(text: str, name: str, error) -> str:
    i = text.find("\x00")
    if i >= 0:
        raise error(f"{name} 第 {text.count(chr(10), 0, i) + 1} 行：含有空字符（NUL），"
                    f"不是文本文件（若是 UTF-16，请带 BOM 保存或另存为 UTF-8）")
    return text


def read_text(path, limit: int = MAX_TEXT_BYTES, what: str = "文件", *, error=InputError) -> str:
    """read_bytes + decode_text."""
    path = Path(path)
    return decode_text(read_bytes(path, limit, what, error=error), str(path), error=error)


# ---------------------------------------------------------------- YAML

_yaml_loader = None


def _loader():
    """A SafeLoader (libyaml's when available) that bounds the node graph before constructing it."""
    global _yaml_loader
    if _yaml_loader is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class BoundedSafeLoader(base):
            def get_single_node(self):
                node = super().get_single_node()
                if node is not None:
                    _bound_nodes(node)
                return node

        _yaml_loader = BoundedSafeLoader
    return _yaml_loader


class _YamlTooBig(Exception):
    pass


def _bound_nodes(root) -> None:
    """Count ``root``'s nodes with aliases expanded (memoised: linear in the distinct nodes) and its
    depth; refuse recursion (an anchor used inside itself)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack = [(root, 0, False)]
    while stack:
        node, depth, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            kids = _children(node)
            total = 1 + sum(size[id(k)] for k in kids)
            if total > MAX_YAML_NODES:
                raise _YamlTooBig(f"展开别名后超过 {MAX_YAML_NODES} 个节点（疑似别名炸弹）")
            size[nid] = total
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise _YamlTooBig("别名引用了自身（递归结构）")
        if depth > MAX_YAML_DEPTH:
            raise _YamlTooBig(f"嵌套超过 {MAX_YAML_DEPTH} 层")
        on_path.add(nid)
        stack.append((node, depth, True))
        for k in _children(node):
            if id(k) not in size:
                stack.append((k, depth + 1, False))


def _children(node) -> list:
    v = node.value
    if isinstance(v, list):
        out = []
        for item in v:
            if isinstance(item, tuple):
                out.extend(item)
            else:
                out.append(item)
        return out
    return []


def load_yaml(path, what: str = "YAML 文件", *, limit: int = MAX_YAML_BYTES, error=InputError):
    """yaml.safe_load of a regular file of at most ``limit`` bytes, aliases and depth bounded.

    Errors (syntax, a Python tag, too many nodes) are ``error`` with a Chinese message naming the file;
    the parser's own text follows in parentheses."""
    import yaml

    path = Path(path)
    text = decode_text(read_bytes(path, limit, what, error=error), str(path), error=error)
    try:
        return yaml.load(text, Loader=_loader())
    except _YamlTooBig as exc:
        raise error(f"{path}：YAML 内容过大，拒绝读取：{exc}") from None
    except yaml.constructor.ConstructorError as exc:
        raise error(f"{path}：YAML 含有不允许的标签或结构（只接受普通的文字、数字、列表和字典）"
                    f"（{_one_line(exc)}）") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}：YAML 格式错误（{_one_line(exc)}）") from None
    except RecursionError:
        raise error(f"{path}：YAML 嵌套过深，拒绝读取") from None


def _one_line(exc) -> str:
    return " ".join(str(exc).split())[:300]


# ---------------------------------------------------------------- zip containers

_DOCTYPE_RE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_R_ATTR_RE = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([^\"']*)[\"']")
_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?(row|c)\b([^>]*)>")
# every <c …> tag (r= first, or group 1 empty → slow path); group 3 is "/" for a cell without content
_CELLREF_RE = re.compile(rb'<c(?: r="([A-Z]{1,3})([0-9]{1,7})")?(?=[\s>/])[^>/]*+(?:/(?!>)[^>/]*+)*+(/?)>')
_ROWREF_RE = re.compile(rb'<row(?: r="([0-9]{1,9})")?[\s>/]')
_PREFIX_RE = re.compile(rb"<[A-Za-z_][\w.-]*:")
# the quickest path: a <c> tag whose r= is not within A1:SF9999 (or missing, or not first), a <row> without r= first.
# A chunk with none of them is inside the bounds (9,999 rows × 500 columns < MAX_CELLS) with nothing to count.
# (a namespace prefix, as _PREFIX_RE, is looked for in the same pass)
_OUTSIDE_QUICK_RE = re.compile(rb'<(?:c(?=[\s>/])(?! r="(?:[A-R]?[A-Z]|S[A-F])[0-9]{1,4}"[\s>/])'
                               rb'|row(?=[\s>/])(?! r="[0-9]{1,9}"[\s>/])|[A-Za-z_][\w.-]*+:)')
_QUICK_ROWS, _QUICK_COLS = 9999, 500
_MERGE_RE = re.compile(rb"<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,7})\$?([0-9]{1,9})$")
_XML_SUFFIXES = (".xml", ".rels", ".vml")


@functools.lru_cache(maxsize=4096)
def _col_number(letters) -> int:
    if isinstance(letters, bytes):
        letters = letters.decode("ascii", "replace")
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _ref(text: str):
    m = _REF_RE.match(text.strip())
    if not m:
        return None
    return int(m.group(2)), _col_number(m.group(1))


def check_zip(path, what: str = "文件", *, error=InputError, scan=None, sizes: dict | None = None) -> None:
    """Refuse a zip container that is not one, is encrypted, or inflates beyond the limits; stream every
    XML part and refuse a DOCTYPE/ENTITY declaration. ``scan(name, chunks)`` may inspect parts further."""
    path = Path(path)
    regular_file(path, what, error=error, limit=MAX_WORKBOOK_BYTES)
    with _open_zip(path, path.name, error) as z:
        infos = _check_entries(z, path.name, error, sizes)
        _scan_parts(z, infos, path.name, error, scan)


def _open_zip(source, label: str, error) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise error(f"{label}：不是有效的 Excel/Word 文件（zip 结构损坏或文件不完整）（{exc}）") from None
    except OSError as exc:
        raise error(f"{label}：无法打开：{os_error_text(exc)}") from None


def _check_entries(z: zipfile.ZipFile, label: str, error, sizes: dict | None = None) -> list[zipfile.ZipInfo]:
    """The zip's entries, from its central directory: not encrypted, each and all together within the size limits,
    and no entry compressed beyond MAX_RATIO (what zipfile inflates stops at the declared size)."""
    infos = z.infolist()
    if len(infos) > MAX_ENTRIES:
        raise error(f"{label}：包含 {len(infos)} 个部件，超过上限 {MAX_ENTRIES}，拒绝读取")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise error(f"{label}：文件已加密（设置了打开密码），请在 Excel 中取消密码后再试")
        if info.file_size > MAX_ENTRY_BYTES:
            raise error(f"{label}：部件 {info.filename} 解压后 {_mb(info.file_size)}，超过上限 "
                        f"{_mb(MAX_ENTRY_BYTES)}（疑似压缩炸弹），拒绝读取")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise error(f"{label}：部件 {info.filename} 压缩比 {info.file_size // max(1, info.compress_size)}:1，"
                        f"超过上限 {MAX_RATIO}:1（疑似压缩炸弹），拒绝读取")
        total += info.file_size
        if sizes is not None:
            sizes[info.filename] = info.file_size
        if total > MAX_TOTAL_BYTES:
            raise error(f"{label}：解压后总大小超过上限 {_mb(MAX_TOTAL_BYTES)}（疑似压缩炸弹），拒绝读取")
    return infos


_FIRST_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")


def _scan_parts(z: zipfile.ZipFile, infos, label: str, error, scan) -> None:
    """Stream every XML part (the workbook and its relationships first: they name the sheets for the messages),
    refusing a DOCTYPE/ENTITY declaration; ``scan(name, chunks)`` sees each part's chunks. A part is inflated only
    as far as its chunks are consumed (a scan that returns without reading them skips the part)."""
    for info in sorted(infos, key=lambda i: i.filename not in _FIRST_PARTS):
        if not info.filename.lower().endswith(_XML_SUFFIXES):
            continue
        try:
            chunks = _chunks(z, info)
            if scan is not None:
                scan(info.filename, _watch_doctype(chunks, label, info.filename, error))
            else:
                for _ in _watch_doctype(chunks, label, info.filename, error):
                    pass
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise error(f"{label}：部件 {info.filename} 已损坏，无法解压（{_one_line(exc)}）") from None


def _chunks(z: zipfile.ZipFile, info: zipfile.ZipInfo):
    read = 0
    with z.open(info) as fh:
        while True:
            block = fh.read(_CHUNK)
            if not block:
                return
            read += len(block)
            if read > MAX_ENTRY_BYTES:   # cannot happen (zipfile stops at file_size); kept as a bound
                raise zipfile.BadZipFile("entry larger than declared")
            yield block


def _watch_doctype(chunks, label: str, part: str, error):
    tail = b""
    for block in chunks:
        # (the regular expression finds "<!" faster than a bytes search for it: "<" is everywhere in XML)
        if _DOCTYPE_RE.search(tail + block[:64]) or _DOCTYPE_RE.search(block):
            raise error(f"{label}：部件 {part} 含有 DOCTYPE/ENTITY 声明（XML 实体），为安全起见拒绝读取")
        tail = block[-16:]
        yield block


MAX_PDF_INFLATED = 256 * 2**20     # all Flate streams of a PDF together, inflated (the largest corpus PDF: 5.7 MB)
_PDF_STREAM_RE = re.compile(rb"(?<!end)stream\r?\n")


def check_pdf(path, what: str = "PDF 文件", *, error=InputError) -> None:
    """A regular file of at most MAX_WORKBOOK_BYTES that starts like a PDF, whose Flate streams inflate
    to at most MAX_PDF_INFLATED together (each inflated in 1 MB steps, so a bomb costs nothing): what
    pdfminer would otherwise decompress whole into memory. Streams that are not Flate are left to it."""
    path = Path(path)
    data = read_bytes(path, MAX_WORKBOOK_BYTES, what, error=error)
    if b"%PDF" not in data[:1024]:
        raise error(f"{path.name}：不是 PDF 文件（文件头不是 %PDF）")
    total = 0
    for m in _PDF_STREAM_RE.finditer(data):
        start = m.end()
        end = data.find(b"endstream", start)
        body = data[start:end if end >= 0 else len(data)]
        d = zlib.decompressobj()
        try:
            piece = d.decompress(body, _CHUNK)
            while piece:
                total += len(piece)
                if total > MAX_PDF_INFLATED:
                    raise error(f"{path.name}：PDF 中的压缩内容解压后超过上限 {_mb(MAX_PDF_INFLATED)}"
                                f"（疑似压缩炸弹），拒绝读取")
                piece = d.decompress(d.unconsumed_tail, _CHUNK)
        except zlib.error:
            continue


def check_workbook(path, what: str = "工作簿", *, error=InputError, sheets=None) -> None:
    """check_zip, and the used cells of every worksheet (of the worksheets titled ``sheets``; None: all) bounded
    by MAX_ROWS / MAX_COLS / MAX_CELLS — what calamine would allocate for it. For readers that open the file by
    its path after this: what passed is remembered for the file (inode, size, times), so a second call for the
    same file only scans what the first did not. A reader that can work on bytes uses :class:`WorkbookGuard`."""
    path = Path(path)
    key = _identity(path)
    done = _CHECKED.get(key) if key is not None else None
    if done is not None and (done.everything or (sheets is not None and set(sheets) <= done.titles)):
        return      # the same file passed a moment ago (read_any, then read_workbook)
    guard = WorkbookGuard(path, what, error=error, done=done)
    guard.check(sheets)
    if key is not None:
        if len(_CHECKED) > 256:
            _CHECKED.clear()
        _CHECKED[key] = guard.passed


class _Passed:
    """The parts of one workbook the guard has scanned: part names, the titles of the worksheets among them, and
    whether that is every XML part."""
    __slots__ = ("parts", "titles", "everything")

    def __init__(self) -> None:
        self.parts: set[str] = set()
        self.titles: set[str] = set()
        self.everything = False


class WorkbookGuard:
    """One workbook read once into memory and checked before any parser sees a part of it.

    Creating it checks the file (a regular file of at most MAX_WORKBOOK_BYTES) and the zip's central directory
    (entries, sizes, ratios, encryption). :meth:`check` then streams the parts a reader is about to parse: every
    XML part that is not a worksheet (workbook, relationships, shared strings, styles … — what python-calamine
    and openpyxl read on opening) and the worksheets titled ``sheets`` (every one when None), refusing a
    DOCTYPE/ENTITY declaration and bounding each worksheet's used cells. A worksheet nothing parses is bounded
    by its declared size alone. Readers parse :attr:`data` — the bytes that were checked — so the file cannot
    change between the check and the parse."""

    def __init__(self, path, what: str = "工作簿", *, error=InputError, done: _Passed | None = None,
                 merges: bool = True) -> None:
        self.path = Path(path)
        # False: the reader never walks merged ranges (python-calamine's cells and values do not), so they are not
        # bounded — the check of a part is then not one another reader may rely on (it is not remembered in
        # check_workbook's cache)
        self.merges = merges
        self.label = self.path.name
        self.error = error
        self.data = read_bytes(self.path, MAX_WORKBOOK_BYTES, what, error=error)
        import io

        self._zip = _open_zip(io.BytesIO(self.data), self.label, error)
        self._sizes: dict[str, int] = {}
        self._infos = _check_entries(self._zip, self.label, error, self._sizes)
        self._titles: dict = {}
        self.passed = done if done is not None else _Passed()
        self.xml: dict[str, bytes] = {}     # worksheet title → its XML, for the worksheets scanned with keep=True
        self._order: list | None = None

    def check(self, sheets=None, *, keep: bool = False) -> None:
        """Scan the parts above not scanned yet. ``keep``: keep the XML of the worksheets of ``sheets`` scanned now
        in :attr:`xml` (a reader's own scan of them — formula cells — then inflates nothing again)."""
        want = None if sheets is None else set(sheets)
        passed = self.passed
        if passed.everything or (want is not None and want <= passed.titles and self._first_done()):
            return
        titles = self._titles
        for info in self._xml_infos():
            name = info.filename
            first = name in _FIRST_PARTS
            if name in passed.parts and not (first and name not in titles):
                continue
            sheet = not first and name.endswith(".xml") and name.startswith(("xl/worksheets/", "xl/chartsheets/"))
            title = _title_of(titles, name) if sheet else None
            if sheet and want is not None and title is not None and title not in want:
                continue        # nothing will parse this worksheet: not inflated
            data = self._whole(info)
            if data is None:     # large, or stored in an unusual way: streamed in chunks (zipfile)
                self._check_streamed(info, sheet, title, keep)
                continue
            if _DOCTYPE_RE.search(data):
                raise self.error(f"{self.label}：部件 {name} 含有 DOCTYPE/ENTITY 声明（XML 实体），为安全起见拒绝读取")
            if first:
                titles[name] = data
            elif sheet:
                _scan_sheet(self.label, _sheet_title(titles, name), (data,), self.error,   # (one chunk: no recount)
                            merges=self.merges)
                if title is not None:
                    passed.titles.add(title)
                    if keep:
                        self.xml[title] = data
            passed.parts.add(name)
        if want is None:
            passed.everything = True

    def _xml_infos(self) -> list:
        """The XML parts, the workbook and its relationships first (they name the sheets for the messages)."""
        if self._order is None:
            self._order = sorted((i for i in self._infos if i.filename.lower().endswith(_XML_SUFFIXES)),
                                 key=lambda i: i.filename not in _FIRST_PARTS)
        return self._order

    def _whole(self, info) -> bytes | None:
        """A part of at most one chunk, inflated at once from :attr:`data` (stored or deflated, as its local header
        says; what it inflates to is capped at the declared size, and must match the declared size and CRC) — or
        None: then it is streamed by :mod:`zipfile`, which also says what is wrong with a damaged part."""
        if info.file_size > _CHUNK or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        d, off = self.data, info.header_offset
        if d[off:off + 4] != b"PK\x03\x04" or len(d) < off + 30:
            return None
        start = off + 30 + int.from_bytes(d[off + 26:off + 28], "little") + int.from_bytes(d[off + 28:off + 30], "little")
        raw = d[start:start + info.compress_size]
        if len(raw) != info.compress_size:
            return None
        if info.compress_type == zipfile.ZIP_STORED:
            out = raw
        else:
            try:
                dec = zlib.decompressobj(-15)
                out = dec.decompress(raw, info.file_size + 1)
            except zlib.error:
                return None
        # (the CRC as zipfile checks it: a damaged part is refused, not parsed — calamine does not check it)
        return out if len(out) == info.file_size and zlib.crc32(out) == info.CRC else None

    def _check_streamed(self, info, sheet: bool, title, keep: bool) -> None:
        """The chunked scan of one part (:func:`_scan_parts`' way) — a part above one chunk, or one that did not
        inflate to its declared size (zipfile then names the damage)."""
        titles, passed = self._titles, self.passed
        name = info.filename

        def scan(_name: str, chunks) -> None:
            if name in _FIRST_PARTS:
                data = b"".join(chunks)
                titles[name] = data if self._sizes.get(name, 0) <= 4 * 2**20 else b""
                return
            if not sheet:
                for _ in chunks:
                    pass
                return
            blocks: list[bytes] | None = [] if keep and title is not None else None
            try:
                _scan_sheet(self.label, _sheet_title(titles, name), _tee(chunks, blocks), self.error,
                            merges=self.merges)
            except _Recount:      # chunks of both kinds in one part: count this part's cells exactly, from the start
                blocks = [] if blocks is not None else None
                _scan_sheet(self.label, _sheet_title(titles, name),
                            _tee(_watch_doctype(_chunks(self._zip, self._zip.getinfo(name)), self.label, name,
                                                self.error), blocks), self.error, quick=False, merges=self.merges)
            if title is not None:
                passed.titles.add(title)
                if blocks is not None:
                    self.xml[title] = b"".join(blocks)

        _scan_parts(self._zip, (info,), self.label, self.error, scan)
        passed.parts.add(name)

    def _first_done(self) -> bool:
        return all(n in self.passed.parts for n in _FIRST_PARTS if n in self._sizes)


def _tee(chunks, blocks: list | None):
    """``chunks`` passed through, each also appended to ``blocks`` (when a list)."""
    for block in chunks:
        if blocks is not None:
            blocks.append(block)
        yield block


_CHECKED: dict = {}     # file identity → _Passed


def _identity(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


_SHEET_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?sheet\b([^>]*)>")
_NAME_ATTR_RE = re.compile(rb"\bname\s*=\s*\"([^\"]*)\"")
_RID_ATTR_RE = re.compile(rb"\b[\w.-]+:id\s*=\s*\"([^\"]*)\"")
_REL_TAG_RE = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>")
_ID_ATTR_RE = re.compile(rb"\bId\s*=\s*\"([^\"]*)\"")
_TARGET_ATTR_RE = re.compile(rb"\bTarget\s*=\s*\"([^\"]*)\"")


def _title_of(titles: dict, part: str) -> str | None:
    """The title of worksheet ``part`` by workbook.xml and its rels (None: not known)."""
    wb, rels = titles.get("xl/workbook.xml"), titles.get("xl/_rels/workbook.xml.rels")
    if not wb or not rels:
        return None
    if "map" not in titles:
        targets = {}
        for m in _REL_TAG_RE.finditer(rels):
            i, t = _ID_ATTR_RE.search(m.group(1)), _TARGET_ATTR_RE.search(m.group(1))
            if i and t:
                tgt = t.group(1).decode("utf-8", "replace")
                targets[i.group(1)] = tgt.lstrip("/") if tgt.startswith("/") else "xl/" + tgt
        mapping = {}
        for m in _SHEET_TAG_RE.finditer(wb):
            n, r = _NAME_ATTR_RE.search(m.group(1)), _RID_ATTR_RE.search(m.group(1))
            if n and r and r.group(1) in targets:
                mapping[targets[r.group(1)]] = _unescape(n.group(1).decode("utf-8", "replace"))
        titles["map"] = mapping
    return titles["map"].get(part)


def _sheet_title(titles: dict, part: str) -> str:
    """“收入决算表” for xl/worksheets/sheet2.xml when workbook.xml and its rels were read already
    (they come first in files written by Excel, openpyxl and XlsxWriter); else the part name."""
    title = _title_of(titles, part)
    return f"“{title}”" if title else f" {part} "


def _merge_cells(data: bytes):
    """The matches of ``_MERGE_RE.finditer(data)``, found from the occurrences of “mergeCell” (a match starts at
    the last “<” before its “mergeCell”: the optional prefix holds no “<”) instead of trying the pattern at every
    “<” of the sheet — ten times faster on a sheet of formulas, the same matches in the same order."""
    end = 0
    pos = data.find(b"mergeCell")
    while pos >= 0:
        lt = data.rfind(b"<", end, pos)
        if lt >= 0:
            m = _MERGE_RE.match(data, lt)
            if m is not None:
                yield m
                end = m.end()
        pos = data.find(b"mergeCell", max(pos + 1, end))


# <mergeCell ref="A1:B2"/> as every writer of real workbooks puts it
_MERGE_QUICK_RE = re.compile(rb'<mergeCell ref="([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})"/>')


def _merged_ranges(data: bytes):
    """((row, col) of one corner, (row, col) of the other) of each merged range of ``data`` with a valid reference,
    in order: by one regular-expression pass when every <mergeCell> is in the usual form, else by
    :func:`_merge_cells`."""
    quick = _MERGE_QUICK_RE.findall(data)
    if len(quick) == data.count(b"mergeCell "):
        col = _col_number
        return [((int(r1), col(c1)), (int(r2), col(c2))) for c1, r1, c2, r2 in quick]
    out = []
    for m in _merge_cells(data):
        a, _, b = m.group(1).decode("ascii", "replace").partition(":")
        r1, r2 = _ref(a), _ref(b or a)
        if r1 and r2:
            out.append((r1, r2))
    return out


def _unescape(text: str) -> str:
    """xml.sax.saxutils.unescape(text, {"&quot;": '"', "&apos;": "'"}), in the same order, without importing
    xml.sax.saxutils (which imports urllib.request: a tenth of the start-up of a one-workbook `xltools check`)."""
    if "&" not in text:
        return text
    # character references first (&#20915; &#x51B3;: a sheet name may be written so), then the named entities
    text = _CHARREF_RE.sub(_charref, text)
    for entity, ch in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, ch)
    return text


_CHARREF_RE = re.compile(r"&#(?:([0-9]{1,7})|x([0-9A-Fa-f]{1,6}));")


def _charref(m) -> str:
    n = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
    return chr(n) if 0 < n <= 0x10FFFF else m.group(0)


def _limit_msg(label: str, part: str, rows: int, cols: int, where: str) -> str:
    last = f"{_col_letters(cols)}{rows}" if rows and cols else ""
    return (f"{label}：工作表{part}的{where}至少到 {last}（{rows} 行 × {cols} 列），超过上限"
            f"（最多 {MAX_ROWS} 行、{MAX_COLS} 列、共 {MAX_CELLS} 个单元格），为避免耗尽内存拒绝读取；"
            f"请删除远处的空白单元格或多余的行后再试")


def _col_letters(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _too_big(rows: int, cols: int) -> bool:
    return rows > MAX_ROWS or cols > MAX_COLS or rows * cols > MAX_CELLS


class _Recount(Exception):
    """A part's chunks were not all within the quick bounds: the part is scanned again, counting every cell."""


def _scan_sheet(label: str, part: str, chunks, error, quick: bool = True, merges: bool = True) -> None:
    """Stream one worksheet's XML and bound the cells present (<c>, with or without r=).

    Not the <dimension ref> nor empty <row> elements: LibreOffice writes ``A1:J1048576`` and an empty
    ``<row r="1048576">`` after a row deletion, and calamine allocates only for cells.

    ``quick``: a chunk whose every cell lies in A1:SF9999 (r= first, no namespace prefix: what every writer
    of real workbooks produces) is within the bounds without counting its cells. If a later chunk of the part
    is not, :class:`_Recount` asks for the part again with ``quick`` off (exact counts, as before).

    ``merges``: also bound the merged ranges (what a reader that walks them cell by cell allocates)."""
    max_row = max_col = 0
    quick_seen = False
    cur_row = 0
    cur_col = 0
    carry = b""
    merged_area = 0
    for block in chunks:
        data = carry + block
        cut = data.rfind(b"<")
        if cut > 0 and data.find(b">", cut) < 0:     # an unfinished tag: keep it for the next chunk
            data, carry = data[:cut], data[cut:]
        else:
            carry = b""
        if len(carry) > 65536:   # one tag this long is not a spreadsheet
            raise error(f"{label}：工作表 {part} 的 XML 结构异常（标签过长），拒绝读取")
        if merges and b"mergeCell" in data:   # a merged range is walked cell by cell by readers (import): bound it
            for r1, r2 in _merged_ranges(data):
                rows, cols = max(r1[0], r2[0]), max(r1[1], r2[1])
                merged_area += (abs(r2[0] - r1[0]) + 1) * (abs(r2[1] - r1[1]) + 1)
                if _too_big(rows, cols) or merged_area > MAX_CELLS:
                    raise error(_limit_msg(label, part, rows, cols, "合并单元格"))
        # fast path (what Excel, WPS, openpyxl and XlsxWriter write): no namespace prefix, and r= is the
        # first attribute of every <row> and <c>
        if quick and not max_row and not max_col and not _OUTSIDE_QUICK_RE.search(data):
            quick_seen = True       # within A1:SF9999, no prefix: nothing to count
            continue
        if quick_seen:
            raise _Recount(part)
        if not _PREFIX_RE.search(data):
            cells = _CELLREF_RE.findall(data)
            rows_r = _ROWREF_RE.findall(data)
            letters, digits, empty = zip(*cells) if cells else ((), (), ())
            if b"" not in letters and b"" not in rows_r:
                if cells:
                    # a cell without a value (<c r="J1048576" s="1"/>) costs calamine nothing
                    full = list(map(operator.not_, empty))
                    if any(full):
                        max_row = max(max_row, max(map(int, itertools.compress(digits, full))))
                        max_col = max(max_col, max(map(_col_number, set(itertools.compress(letters, full)))))
                    cur_col = _col_number(letters[-1])
                if rows_r:
                    cur_row = int(rows_r[-1])
                if _too_big(max_row, max_col):
                    raise error(_limit_msg(label, part, max_row, max_col, "已用单元格"))
                continue
        for m in _TAG_RE.finditer(data):
            attrs = m.group(2)
            r = _R_ATTR_RE.search(attrs)
            if m.group(1) == b"row":
                if r:
                    try:
                        cur_row = int(r.group(1))
                    except ValueError:
                        cur_row += 1
                else:
                    cur_row += 1
                cur_col = 0
            else:
                ref = _ref(r.group(1).decode("ascii", "replace")) if r else None
                if ref:
                    cur_row, cur_col = ref
                else:
                    cur_col += 1
                if attrs.rstrip().endswith(b"/"):     # no value: calamine stores nothing
                    continue
                if cur_row > max_row:
                    max_row = cur_row
                if cur_col > max_col:
                    max_col = cur_col
            if _too_big(max_row, max_col):
                raise error(_limit_msg(label, part, max_row, max_col, "已用单元格"))


# ---------------------------------------------------------------- amounts

def check_amount(amount, where: str, *, error=InputError) -> None:
    """Refuse an amount with more than MAX_AMOUNT_DIGITS integer digits (Decimal arithmetic at 28
    digits would round it, quantize would fail) — naming ``where`` (file, sheet, cell)."""
    if amount is None:
        return
    if not amount.is_finite():
        raise error(f"{where}：金额不是有限的数字（{amount}）")
    if amount and amount.adjusted() >= MAX_AMOUNT_DIGITS:
        digits = amount.adjusted() + 1
        raise error(f"{where}：金额有 {digits} 位整数，超过上限 {MAX_AMOUNT_DIGITS} 位，请核对")


def check_report_amounts(report, name: str, *, error=InputError) -> None:
    """check_amount on every value a reader put into ``report``: tables, 说明事项 figures (prior./budget.
    items, numbers), 绩效 funds."""
    for td in report.tables.values():
        for rd in (*td.rows.values(), *td.duplicates, *td.bad_codes):
            for v in rd.values.values():
                a = v.amount
                if a is not None:
                    if not a.is_finite() or (a and a.adjusted() >= MAX_AMOUNT_DIGITS):   # (the message only then)
                        check_amount(a, f"{name}：{v.source}", error=error)
                elif isinstance(v.raw, float) and v.raw in (float("inf"), float("-inf")):
                    raise error(f"{name}：{v.source}：金额超出可表示的范围（位数过多，读作无穷大），请核对")
    notes = report.notes if isinstance(report.notes, dict) else {}
    cells = notes.get("_cells") if isinstance(notes.get("_cells"), dict) else {}
    for key, value in notes.items():
        if key == "_cells":
            continue
        where = f"{name}：{cells.get(key) or ('说明事项' if cells else 'notes.yaml')}（{key}）"
        if hasattr(value, "is_finite"):
            check_amount(value, where, error=error)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):
                raise error(f"{where}：金额不是有限的数字（{value}）")
            check_amount(Decimal(str(value)) if isinstance(value, float) else Decimal(value), where, error=error)
        elif isinstance(value, str) and str(key).startswith(("prior.", "budget.")):   # "19352.45万元"
            for m in _NUMBER_RE.finditer(value):
                digits = len(m.group(1).replace(",", "").replace("，", "").lstrip("0"))
                if digits > MAX_AMOUNT_DIGITS:
                    raise error(f"{where}：金额有 {digits} 位整数，超过上限 {MAX_AMOUNT_DIGITS} 位，请核对")
    for bid, projects in (report.blocks or {}).items():
        if not isinstance(projects, list):
            continue
        for p in projects:
            for key, v in (getattr(p, "funds", None) or {}).items():
                for x in (v if isinstance(v, (list, tuple)) else [v]):
                    if hasattr(x, "is_finite"):
                        check_amount(x, f"{name}：{getattr(p, 'source', bid)} {key}", error=error)


def check_meta_rows(meta: dict, sheet_names, name: str, *, error=InputError, sheet: str = "_xltools") -> None:
    """The hidden ``_xltools`` sheet is input too: ``year`` must be a year. (``mark:`` rows are only used
    when a workbook is rewritten, and the rewrite ignores those that name no real cell.)"""
    year = meta.get("year", "")
    if year and not (year.isdigit() and len(year) == 4 and 1900 <= int(year) <= 2999):
        shown = (year[:20] + "…") if len(year) > 20 else year
        raise error(f"{name}：隐藏页 {sheet} 中的年度“{shown}”不是有效的年份")


_NUMBER_RE = re.compile(r"([0-9][0-9,，]*)(?:\.[0-9]*)?")


# ---------------------------------------------------------------- OS errors in Chinese

_ERRNO_CN = {
    errno.EACCES: "没有权限", errno.EPERM: "不允许的操作", errno.ENOENT: "文件或文件夹不存在",
    errno.ENOSPC: "磁盘空间已满", errno.EROFS: "只读文件系统", errno.EISDIR: "是文件夹",
    errno.ENOTDIR: "路径中有一段不是文件夹", errno.ENAMETOOLONG: "文件名过长", errno.EEXIST: "文件已存在",
    errno.EBUSY: "文件正被占用", errno.ELOOP: "符号链接层数过多", errno.EMFILE: "打开的文件过多",
    errno.EDQUOT: "超出磁盘配额", errno.EIO: "读写错误",
}


def os_error_text(exc: OSError, path=None) -> str:
    """'没有权限：<path>（[Errno 13] Permission denied）' — ``path`` (the file the user named) wins over
    the path the OS reports (which may be a temporary file)."""
    cn = _ERRNO_CN.get(exc.errno or 0, "系统错误")
    shown = path if path is not None else exc.filename
    lib = f"[Errno {exc.errno}] {exc.strerror}" if exc.errno else _one_line(exc)
    return f"{cn}：{shown}（{lib}）" if shown is not None else f"{cn}（{lib}）"
