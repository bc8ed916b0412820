"""Report + 说明事项 → Narrative, through the jinja2 templates of the set.

Templates live in ``templates/<set>/narrative/`` (one file per section, rendered in file-name order)
with regional variants in ``templates/<set>/narrative/<variant>/``: a variant file replaces the
standard file of the same name; an empty variant file drops that section. A variant whose wording is another
variant's except for a few sections names that one in ``templates/<set>/narrative/inherit.yaml`` and its
folder holds only the sections it changes (look-up order: its folder, the inherited folders, the standard).

What a template writes, line by line:
  ``# 一、…``   a section heading (黑体)          ``## （一）…``  a sub-heading
  anything else: body text. A blank line ends a paragraph; the lines of one paragraph are joined
  without a separator (Chinese needs none), so a long sentence may be wrapped in the template.

Figures are put into the template already rounded as they will be printed (万元: half-up to 2
decimals), and shares and changes are computed from those printed figures, so that a reader who
recomputes a percentage from the text finds the same number.
"""
from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from xltools.model import ZERO, Report
from xltools.narrative.facts import Missing, note_amount, note_text
from xltools.narrative.model import Narrative, Paragraph
from xltools.narrative.numbers import Amount, Change, change, fmt_amount, fmt_pct, pct, shares, wan

__all__ = ["render_with", "missing_with", "template_dirs", "section_of", "paragraphs_from_text", "base_context", "Item", "Recorder",
           "value_of", "with_shares", "printed", "yuan_of", "Change"]

_HEAD1 = re.compile(r"^([一二三四五六七八九十]+)、")
_HEAD2 = re.compile(r"^[（(]([一二三四五六七八九十]+)[)）]")


_NAME = re.compile(r"^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$")


def template_dirs(set_id: str, variant: str | None) -> list[Path]:
    """The template folders of a set (checked against the package's list) and of a variant: a plain
    name (letters, digits, ``_``, ``-``), never a path, so only folders of the package are read."""
    from xltools.spec import SpecError, load_set, templates_dir

    load_set(set_id)                          # refuses anything that is not one of our sets
    base = templates_dir() / set_id / "narrative"
    dirs = []
    if variant:
        if not isinstance(variant, str) or not _NAME.match(variant):
            raise SpecError(f"情况说明版式“{str(variant)[:80]}”无效：只能是版式名（如 ningxia、shanghai），不能是路径")
        parents = _inherits(set_id)
        seen = set()
        while variant and variant not in seen:     # the region's folder, then the folder it inherits from, …
            seen.add(variant)
            if (base / variant).is_dir():
                dirs.append(base / variant)
            variant = parents.get(variant)
    dirs.append(base)                             # … then the set's standard files
    return dirs


INHERIT_FILE = "inherit.yaml"
_INHERITS: dict = {}     # inherit.yaml parsed once per file version


def _inherits(set_id: str) -> dict[str, str]:
    """``templates/<set>/narrative/inherit.yaml``: variant → the variant whose wording it otherwise reads
    (江苏 2017 reads 江苏's; 上海 单位预算 reads 上海 部门预算's), so a regional folder holds only the sections
    it changes."""
    import yaml

    from xltools.spec import SpecError, templates_dir

    path = templates_dir() / set_id / "narrative" / INHERIT_FILE
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return {}
    hit = _INHERITS.get(stamp)
    if hit is not None:
        return dict(hit)
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict) or not all(isinstance(k, str) and isinstance(v, str) and _NAME.match(k)
                                            and _NAME.match(v) for k, v in doc.items()):
        raise SpecError(f"{path}：应为“版式: 所继承的版式”的对应表（只能是版式名）")
    if len(_INHERITS) > 64:
        _INHERITS.clear()
    _INHERITS[stamp] = dict(doc)
    return doc


def _section_files(dirs: list[Path]) -> list[str]:
    """The section files of the folders, in order (listed again when a folder changes)."""
    stamp = tuple((str(d), d.stat().st_mtime_ns if d.is_dir() else None) for d in dirs)   # a set may have none
    hit = _SECTIONS.get(stamp)
    if hit is None:
        names: dict[str, Path] = {}
        for d in reversed(dirs):                 # standard first, variant overrides
            for p in sorted(d.glob("*.j2")):
                names[p.name] = p
        if len(_SECTIONS) > 64:
            _SECTIONS.clear()
        hit = _SECTIONS[stamp] = tuple(sorted(names))
    return list(hit)


_SECTIONS: dict = {}


class Recorder:
    def __init__(self, labels: dict[str, str], kinds: dict[str, str] | None = None):
        self.labels = labels
        self.kinds = kinds or {}
        self.missing: dict[str, str] = {}
        self.markers: dict[str, str] = {}      # key → the marker the text shows where the item first appears
        self.made: list[Missing] = []           # every marker object handed out (shown or not): see missing_with

    def _shown(self, key: str, label: str, marker: str = "") -> bool:
        first = key not in self.missing
        self.missing.setdefault(key, label)
        self.markers.setdefault(key, marker)
        return first

    def miss(self, key: str, label: str | None = None, kind: str = "") -> Missing:
        label = label or self.labels.get(key) or key
        m = Missing(key, label, self._shown, self.kinds.get(key) or kind)
        self.made.append(m)
        return m


@dataclass
class Item:
    """One line of a list a sentence walks through (收入项目, 一般公共预算按类, 经济分类 …)."""
    编码: str = ""
    名称: str = ""
    金额: object = None
    占比: Decimal | str | None = None    # NO_SHARE: a share of a zero total (not printed)
    年初预算: object = None
    上年: object = None
    预算原因: object = None
    上年原因: object = None
    extra: dict = field(default_factory=dict)

    def __getattr__(self, name):
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(name)


def render_with(report: Report, variant: str | None, nset) -> Narrative:
    """Render a set's section templates with the context its interface builds.

    ``nset`` is the set's :class:`xltools.narrative.sets.NarrativeSet`: ``nset.context(report, unit, rec)``
    makes the template context, ``nset.title`` follows the unit and year, ``nset.default_unit`` is the
    amount unit when 说明事项 does not name one."""
    run = _Run(report, variant, nset)
    out: list[Paragraph] = []
    for name in run.sections:
        out.extend(paragraphs_from_text(run.render(name), structured=True))
    return Narrative(title=f"{report.unit or ''}{report.year or ''}{nset.title}", paragraphs=out,
                     missing=list(run.rec.missing.items()), variant=run.variant or "", unit=run.unit,
                     markers=dict(run.rec.markers))


def missing_with(report: Report, variant: str | None, nset, prefix: str, items=None) -> list[tuple[str, str]]:
    """The (key, label) of the 说明事项 items whose key starts with ``prefix`` that ``render_with(report, variant,
    nset).missing`` lists — the same items in the same order — rendering only the sections that can show one.

    An empty item shows only through a ``Missing`` object the recorder handed out: one the context holds (a section
    can reach it only through a context name it reads), or one a context function (说明, 说明金额 …) makes while a
    section renders. So a section is rendered when it reads a name whose value holds such an item, calls a context
    function with constant arguments that give one (the call is made here: the functions only look 说明事项 up),
    or with arguments known only while rendering, uses a filter that records a key it is given (``KEY_FILTERS``),
    calls a method or includes other templates. (The context keeps its items in ``Item`` objects, lists, tuples and
    dicts — the walk looks nowhere else, and an item it cannot place makes every section render — and no section
    changes the context.) Every other section is left out: it cannot show an item with the prefix, and the items
    sections show do not depend on one another. (A section a template error would stop is then not rendered either:
    the full render reports that error instead.) Used by rule N-10 (``check.notes_findings``); the test compares it
    with the full render on every sample and edit (tests/test_notes_fast.py)."""
    run = _Run(report, variant, nset, items)
    made = [m for m in run.rec.made if m.key.startswith(prefix)]
    carriers: set[str] = set()
    if made:
        found: set[int] = set()
        for name, value in run.ctx.items():
            if _holds(value, prefix, found):
                carriers.add(name)
        if not {id(m) for m in made} <= found:    # an item the walk cannot place: every section, as render_with
            carriers = None
    functions = {k for k, v in run.ctx.items() if callable(v)}
    for name in run.sections:
        if carriers is None or _may_show(run, name, prefix, carriers, functions):
            run.render(name)                          # the text is not needed: rendering records what it shows
    return [(k, v) for k, v in run.rec.missing.items() if k.startswith(prefix)]


class _Run:
    """One narrative being rendered: the report with its 说明事项 defaults, the recorder, the context and the
    environment of the variant's template folders."""

    def __init__(self, report: Report, variant: str | None, nset, items=None):
        """``items``: the variant's ``note_items``, when the caller has them already."""
        from xltools.narrative.inputs import note_items

        self.variant = variant = variant or report.variant
        dirs = template_dirs(report.set_id, variant)
        if items is None:
            as_variant = copy.copy(report)
            as_variant.variant = variant or report.variant    # a variant's own defaults (宁夏 lists zero lines)
            items = note_items(report.set_id, as_variant)
        labels = {it.key: it.label for it in items}
        # an item's default (notes.yaml) stands in for an empty 说明事项 cell
        defaults = {it.key: it.default for it in items if it.default is not None}
        notes = {k: v for k, v in (report.notes or {}).items() if not k.startswith("_")}
        report = copy.copy(report)
        report.notes = {**defaults, **notes}
        self.rec = rec = Recorder(labels, {it.key: it.kind for it in items})
        unit = note_text(report.notes, "narrative.unit") or nset.default_unit
        if unit not in ("万元", "元"):
            unit = "万元"
        self.unit = unit
        self.env = _environment(tuple(str(d) for d in dirs))
        self.sections = _section_files(dirs)
        _CURRENT.unit, _CURRENT.rec = unit, rec
        self.ctx = nset.context(report, unit, rec)

    def render(self, name: str) -> str:
        _CURRENT.unit, _CURRENT.rec = self.unit, self.rec
        return self.env.get_template(name).render(self.ctx)


def _holds(value, prefix: str, found: set[int]) -> bool:
    """Whether ``value`` (a context entry: figures, ``Item`` lists, dicts) holds an empty item whose key starts
    with ``prefix``; the ids of those it holds are added to ``found``."""
    if isinstance(value, Missing):
        if value.key.startswith(prefix):
            found.add(id(value))
            return True
        return False
    if isinstance(value, Item):
        value = list(value.__dict__.values())
    elif isinstance(value, dict):
        value = list(value.values())
    elif not isinstance(value, (list, tuple)):
        return False
    hit = False
    for v in value:
        hit = _holds(v, prefix, found) or hit
    return hit


# filters that record a 说明事项 key given as an argument (填写: an empty text, under the key it names)
KEY_FILTERS = frozenset({"填写"})


@dataclass(frozen=True)
class _Uses:
    """What a section template reads, found once in its syntax tree (``_uses``)."""
    names: frozenset          # context names the section reads
    calls: tuple              # (name, positional arguments, keyword arguments) of calls with constant arguments
    unknown: frozenset        # names called with arguments known only while rendering, or passed on uncalled
    key_filters: bool         # uses a filter of KEY_FILTERS
    opaque: bool              # includes, imports or extends another template, or calls a method


_USES: dict = {}


def _uses(env, name: str) -> _Uses:
    """The section's ``_Uses``, parsed once per version of the template (jinja2 reloads a changed file: the
    template object is then another one)."""
    tmpl = env.get_template(name)
    hit = _USES.get((id(env), name))
    if hit is not None and hit[0] is tmpl:
        return hit[1]
    source, filename, _ = env.loader.get_source(env, name)
    uses = _stored_uses(source)
    if uses is None:
        uses = _parse_uses(env, name, source, filename)
        _store_uses(source, uses)
    _USES[(id(env), name)] = (tmpl, uses)
    return uses


def _parse_uses(env, name: str, source: str, filename) -> _Uses:
    from jinja2 import meta, nodes

    tree = env.parse(source, name, filename)
    calls, unknown, called, methods = [], set(), set(), False
    for c in tree.find_all(nodes.Call):
        if not isinstance(c.node, nodes.Name):
            methods = True                    # x.f(…): what it gives is known only while rendering
            continue
        called.add(id(c.node))
        args = [a.value if isinstance(a, nodes.Const) else a for a in c.args]
        kwargs = {k.key: (k.value.value if isinstance(k.value, nodes.Const) else k.value) for k in c.kwargs}
        if c.dyn_args is not None or c.dyn_kwargs is not None or any(isinstance(a, nodes.Node) for a in
                                                                      [*args, *kwargs.values()]):
            unknown.add(c.node.name)
        else:
            calls.append((c.node.name, tuple(args), tuple(sorted(kwargs.items()))))
    for n in tree.find_all(nodes.Name):
        if n.ctx == "load" and id(n) not in called:
            unknown.add(n.name)               # a name read as a value: only a function among them matters
    # a key filter applied, or named for map / select … to apply
    key_filters = any(f.name in KEY_FILTERS for f in tree.find_all(nodes.Filter)) or any(
        c.value in KEY_FILTERS for c in tree.find_all(nodes.Const) if isinstance(c.value, str))
    uses = _Uses(names=frozenset(meta.find_undeclared_variables(tree)), calls=tuple(calls),
                 unknown=frozenset(unknown), key_filters=key_filters,
                 opaque=methods or any(True for _ in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport,
                                                                    nodes.Extends))))
    return uses


# What a template reads is kept beside its compiled code (jinja2's cache folder of this user, mode 0700), keyed by
# the template's text, this analysis and jinja2's version: a one-workbook `check` does not parse the ten sections
# for N-10 every time (≈ 0.1 s). Only plain constants are kept (JSON); anything else is parsed again.
_USES_VERSION = "1"


def _uses_file(source: str):
    bcc = _bytecode_cache()
    folder = getattr(bcc, "directory", None)
    if not folder:
        return None
    import hashlib

    import jinja2

    key = "\0".join((_USES_VERSION, jinja2.__version__, ",".join(sorted(KEY_FILTERS)), source))
    return Path(folder) / f"xltools-uses-{hashlib.sha256(key.encode('utf-8')).hexdigest()}.json"


_PLAIN = (str, int, float, bool, type(None))


def _stored_uses(source: str) -> _Uses | None:
    import json

    path = _uses_file(source)
    try:
        if path is None or not path.is_file():
            return None
        d = json.loads(path.read_text(encoding="utf-8"))
        return _Uses(names=frozenset(d["names"]), unknown=frozenset(d["unknown"]), key_filters=bool(d["key_filters"]),
                     opaque=bool(d["opaque"]),
                     calls=tuple((str(n), tuple(a), tuple((str(k), v) for k, v in kw)) for n, a, kw in d["calls"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store_uses(source: str, uses: _Uses) -> None:
    import json

    from xltools.safeio import WriteError, atomic_write

    if not all(isinstance(x, _PLAIN) for _, a, kw in uses.calls for x in (*a, *(v for _, v in kw))):
        return
    path = _uses_file(source)
    if path is None:
        return
    doc = {"names": sorted(uses.names), "unknown": sorted(uses.unknown), "key_filters": uses.key_filters,
           "opaque": uses.opaque, "calls": [[n, list(a), [list(x) for x in kw]] for n, a, kw in uses.calls]}
    try:
        with atomic_write(path, keep_original=False) as tmp:
            tmp.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    except (OSError, WriteError):
        pass      # a cache: parsed again next time


def _may_show(run: _Run, name: str, prefix: str, carriers: set[str], functions: set[str]) -> bool:
    """Whether rendering section ``name`` can show an empty item whose key starts with ``prefix`` (``carriers``:
    the context names whose values hold one; ``functions``: the context names that are functions)."""
    uses = _uses(run.env, name)
    if uses.opaque or uses.key_filters or uses.names & carriers or uses.unknown & functions:
        return True
    ctx = run.ctx
    for fname, args, kwargs in uses.calls:
        if fname not in functions:
            continue                       # a jinja2 global (range, dict …) or a name the section sets itself
        fn = ctx[fname]
        try:
            value = fn(*args, **dict(kwargs))
        except Exception:                  # let the render say what is wrong
            return True
        if _holds(value, prefix, set()):
            return True
    return False


PARA = "\u00b6"     # ¶: where the template source had a blank line (a paragraph ends)
# what the 占比 / 百分比 filters give for a share of a zero total: its clause (“，占本年支出合计的…”, “，占…”) is
# left out of the paragraph (a share of nothing is not a number; “占0.00%” would say the part is 0)
NO_SHARE = "\u2063"
_NO_SHARE_CLAUSE = re.compile("[，,]?\\s*占[^，。；;：:\u2063]*\u2063")
_BLANK = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)*")


def _paragraph_loader_class():
    import jinja2

    class ParagraphLoader(jinja2.FileSystemLoader):
        """Reads a template and marks its blank lines as paragraph ends before jinja2 sees it, so
        that block tags ({% if %} …) never decide where a paragraph ends."""

        def get_source(self, environment, template):
            source, filename, uptodate = super().get_source(environment, template)
            lines = []
            for line in source.split("\n"):
                s = line.strip()
                if s.startswith("#") and not s.startswith("{#"):
                    line = f"\n{PARA}{s}{PARA}"     # a heading is a paragraph of its own
                lines.append(line)
            return _BLANK.sub(f"\n{PARA}\n", "\n".join(lines)), filename, uptodate

    return ParagraphLoader


def _ParagraphLoader(path: str):
    return _paragraph_loader_class()(path)


class _Current(threading.local):
    """What the filters of a cached environment need for the render under way."""
    unit = "万元"
    rec = None


_CURRENT = _Current()
_ENVS: dict = {}


def _environment(dirs: tuple[str, ...]):
    """One jinja2 environment per template folder set; templates are compiled once and recompiled
    when a file changes (jinja2's auto_reload checks the modification time)."""
    env = _ENVS.get(dirs)
    if env is None:
        import jinja2
        from jinja2.sandbox import SandboxedEnvironment

        # sandboxed: a template cannot reach Python internals (the templates are ours, but a
        # workbook or an edited install must never turn them into code execution)
        env = SandboxedEnvironment(loader=jinja2.ChoiceLoader([_ParagraphLoader(d) for d in dirs]),
                                 autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                 keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                 auto_reload=True, cache_size=200, bytecode_cache=_bytecode_cache())
        _install_filters(env)
        _ENVS[dirs] = env
    return env


_BCC: list = []


def _bytecode_cache():
    """The templates compiled once per machine, not once per process: jinja2's file cache (a folder of this user's
    own, mode 0700, in the temporary directory; a bucket is used only for the same source text). A start-up of
    `xltools check` would otherwise spend most of its time compiling the 情况说明 templates for rule N-10.
    None (compile in memory) where no such folder can be made."""
    if not _BCC:
        import jinja2

        try:
            _BCC.append(jinja2.FileSystemBytecodeCache())
        except (OSError, RuntimeError):
            _BCC.append(None)
    return _BCC[0]


# ---------------------------------------------------------------- text → paragraphs

def section_of(text: str, current: tuple[str, str]) -> tuple[str, str]:
    """(heading1, heading2) after a paragraph that starts with ``text``."""
    t = text.strip()
    m = _HEAD1.match(t)
    if m:
        return (m.group(1), "")
    m = _HEAD2.match(t)
    if m and current[0]:
        return (current[0], m.group(1))
    return current


def _sid(cur: tuple[str, str]) -> str:
    return cur[0] + (f"（{cur[1]}）" if cur[1] else "")


def paragraphs_from_text(text: str, structured: bool = False) -> list[Paragraph]:
    """Rendered template text (``structured``: # headings, blank-line paragraphs) or a plain narrative
    (one paragraph per line) → paragraphs with their section."""
    out: list[Paragraph] = []
    cur = ("", "")
    if structured:
        blocks = []
        for chunk in text.split(PARA):
            b = "".join(line.strip() for line in chunk.splitlines())
            if NO_SHARE in b:
                b = _NO_SHARE_CLAUSE.sub("", b).replace(NO_SHARE, "")
            if b:
                blocks.append(b)
    else:
        blocks = [s.strip() for s in text.splitlines() if s.strip()]
    for b in blocks:
        style = "body"
        if structured and b.startswith("## "):
            style, b = "heading2", b[3:].strip()
        elif structured and b.startswith("# "):
            style, b = "heading1", b[2:].strip()
        elif not structured and _HEAD1.match(b) and len(b) < 40 and not b.endswith("。"):
            style = "heading1"
        cur = section_of(b, cur)
        out.append(Paragraph(b, style, _sid(cur)))
    return out


# ---------------------------------------------------------------- filters

def _install_filters(env) -> None:
    class _Rec:
        def miss(self, key, label=None, kind=""):
            return _CURRENT.rec.miss(key, label, kind)

    rec = _Rec()

    def money(x, u=None):
        if isinstance(x, Missing):
            return str(x)
        if x is None:
            return str(rec.miss("?", "金额", "amount"))
        return fmt_amount(x, u or _CURRENT.unit)

    def percent(p):
        if isinstance(p, Missing):
            return str(p)
        if p is NO_SHARE:
            return NO_SHARE
        return fmt_pct(p)

    def share(x, whole):
        if isinstance(x, Missing) or isinstance(whole, Missing):
            return (x if isinstance(x, Missing) else whole).derived("百分比")
        p = pct(x, whole)
        return NO_SHARE if p is None else fmt_pct(p)     # a share of a zero total: the clause is left out

    def delta(cur, base, rate=True):
        """增加 X万元，增长 Y% / 减少 X万元，下降 Y% / 持平 — on the base (prior year or budget)."""
        for m in (base, cur):
            if isinstance(m, Missing):
                return m.derived("增减额及增减率" if rate else "增减额")
        c = change(value_of(cur), value_of(base))
        if c.flat:
            return "持平"
        s = f"{c.word}{fmt_amount(c.abs, _CURRENT.unit)}"
        if rate and c.rate is not None:
            s += f"，{c.rate_word}{fmt_pct(c.rate)}"
        return s

    def completion(actual, budget):
        for m in (budget, actual):
            if isinstance(m, Missing):
                return m.derived("百分比")
        p = pct(actual, budget)
        return fmt_pct(p) if p is not None else "—（无预算数）"

    def bigger(cur, base, words=("大于", "小于", "等于")):
        if isinstance(base, Missing) or isinstance(cur, Missing):
            return "不等于"
        c = change(value_of(cur), value_of(base))
        return words[2] if c.flat else (words[0] if c.up else words[1])

    def fill(value, key=None, label=None):
        # records the key it is given: a filter that does must be named in KEY_FILTERS (see missing_with)
        if value is None or value == "":
            return str(rec.miss(key or "?", label, "text"))
        return str(value)

    env.filters.update({
        "金额": money, "万元": lambda x: money(x, "万元"), "元": lambda x: money(x, "元"),
        "百分比": percent, "占比": share, "增减": delta, "增减额": lambda c, b: delta(c, b, rate=False),
        "完成率": completion, "大小": bigger, "填写": fill,
        "增减词": lambda cur, base: (change(value_of(cur), value_of(base)).word
                                  if not isinstance(base, Missing) else "变化"),
        "句": _sentence,
        "数": lambda d: (format(Decimal(d).normalize(), "f") if not isinstance(d, Missing) else str(d)),
    })
    def differs(a, b):
        """Both known and not equal: only then is there a difference to explain."""
        if isinstance(a, Missing) or isinstance(b, Missing) or a is None or b is None:
            return False
        return value_of(a) != value_of(b)

    env.tests.update({"不同于": differs, "零": lambda x: not isinstance(x, Missing) and x is not None and value_of(x) == ZERO,
                      "缺": lambda x: isinstance(x, Missing)})


def _sentence(x) -> str:
    """A reason typed into 说明事项 as one sentence: ends with 。 exactly once."""
    t = str(x).strip()
    # the template already says 主要原因是：… — a reason typed as "主要是……" would say it twice
    t = re.sub(r"^主要(原因)?(是|为)[：:]?\s*", "", t)
    if not t:
        return t
    return t if t[-1] in "。！？；.!?" else t + "。"


def value_of(x) -> Decimal:
    if isinstance(x, Amount):
        return x.yuan
    return Decimal(x or 0)


# ---------------------------------------------------------------- context

def base_context(report: Report, unit: str, rec: Recorder, facts: dict, *, short: str, zero_lines: str
                 ) -> tuple[dict, object, object, object, object]:
    """What every set's narrative context starts with: the unit, the year and the 说明事项 accessors.

    Returns (ctx, amt, note_amt, note, number); ``short`` is the default 简称, ``zero_lines`` whether
    lines that are zero are listed (列出) or left out (不列) unless 说明事项 says otherwise."""
    notes = report.notes or {}

    def amt(key: str) -> Amount:
        f = facts.get(key)
        return printed(f.value if f else ZERO, unit)

    def note_amt(key: str, optional: bool = False):
        v = note_amount(notes, key, report.amount_unit)
        if v is None:
            return None if optional else rec.miss(key, kind="amount")
        return printed(v, unit)

    def note(key: str, optional: bool = False):
        t = note_text(notes, key)
        if t is None:
            return None if optional else rec.miss(key, kind="text")
        # a line break in a 说明事项 cell starts a new paragraph
        return re.sub(r"\s*\n\s*(?:\n\s*)*", PARA, t)

    def number(key: str, optional: bool = False):
        v = notes.get(key)
        if v is None or v == "":
            return None if optional else rec.miss(key, kind="count")
        try:
            d = Decimal(str(v).replace(",", ""))
        except Exception:
            return str(v)
        return format(d.normalize(), "f") if d == d.to_integral_value() else str(d)

    year = report.year
    ctx: dict = {
        "年度": year, "上年度": (year - 1) if year else None, "单位": report.unit,
        "简称": note_text(notes, "unit.short") or short, "金额单位": unit,
        "说明": note, "说明金额": note_amt, "说明数": number, "有": lambda k: note_text(notes, k) is not None,
        "列零": (note_text(notes, "narrative.zero_lines") or zero_lines) != "不列",
    }
    return ctx, amt, note_amt, note, number


def yuan_of(report: Report, d: Decimal) -> Decimal:
    return d * 10000 if report.amount_unit == "万元" else d


def printed(yuan: Decimal, unit: str) -> Amount:
    """The amount as it will be printed: in 万元, rounded half-up to the hundredth of a 万元."""
    if unit == "万元":
        return Amount(wan(yuan) * 10000)
    return Amount(yuan)


def with_shares(items: list[Item], whole) -> None:
    vals = [value_of(i.金额) for i in items]
    # the shares of a complete group add to exactly 100.00 % (largest-remainder rounding, see
    # numbers.shares); a group that is not the whole gets plain half-up shares of the whole
    total = value_of(whole)
    for it, s in zip(items, shares(vals, total)):
        it.占比 = s if total != ZERO else NO_SHARE     # shares of a zero total are not printed

