"""Check a 情况说明 someone wrote against the tables it speaks of.

Every amount, percentage and year in the text is found and tied to the figure it speaks of:

* an amount is tied by the words just before it (the clause since the last punctuation mark) to a
  figure of the tables (``facts.collect_facts``): "其中：人员经费2251.56元" → 公开06 人员经费合计. Words
  like 年初预算 / 上年 / 2021年度决算数 make it the budget or prior-year figure of the subject the
  paragraph speaks of; 增加/减少 before it make it a change;
* a percentage after 占 is a share (of the whole named after 占, or of the paragraph's total), after
  增长/下降 a change rate (on the base the sentence compares with), after 完成…预算 a completion rate;
* a year must be the report's or the one before, where the sentence compares; “截至…年12月31日” the year
  the set's figures close (a 决算's own year, the year before a budget's);
* a numbered item that names its 科目 before its figures (“1、一般公共服务支出（类）财政事务（款）行政运行（项）。
  主要用于：…。年初预算为 X 万元，支出决算为 Y 万元。”) speaks of that 科目's fact from there on; a 科目 the
  tables do not hold, a 年初预算 no table gives and a figure of a table the document did not publish are info;
* “决算数大于/小于/等于预算数” is read on the 年初预算 and 支出决算 the paragraph states for its subject.

Amounts after "主要原因" in a sentence, and inside brackets, are the writer's explanation: they are
checked only when their own clause names a figure of the tables. A percentage is accepted when it agrees
either with the figures the sentence states or with the tables; shares of a group (rounded to add to
100.00 %) may move by 0.01.

The text is first rebuilt into paragraphs and sentences as people read it (``xltools.narrative.text``):
line breaks of a PDF, page breaks, .docx soft breaks, page numbers and running headers do not matter.
Percentages are checked against the interval their printed operands allow (±½ of each one's last digit).

Rule codes (``Finding.table`` is "情况说明", ``Finding.cell`` the sentence):
  N-00 info: a figure that cannot be tied to exactly one fact ("无法核对：…")
  N-01 amount differs from the table          N-02 元 written where 万元 is meant (or the reverse)
  N-03 percentage on the wrong base           N-04 percentage does not match
  N-05 completion rate (完成预算) wrong         N-06 change amount or direction (增加/减少, 决算数大于预算数) wrong
  N-07 a year that is not the report's        N-08 template leftover (XXX, （增加）减少, 〔〕号, empty 元 …)
  N-09 a 【请填写】 marker still in the text     N-10 说明事项 item the narrative needs is empty
  N-11 a list of parts that does not add up to the total it explains (xltools/narrative/lists.py)
  N-12 a 名词解释 entry naming a 科目 the catalog does not know (xltools/narrative/wording.py)
  N-13 one heading used for two sections      N-14 template text left in (“对0等0个0级项目”, “XX单位”, “（此处填写…）”)
  N-15 doubled punctuation (“。。”)
"""
from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from xltools.model import ZERO, Report
from xltools.narrative.facts import MARKER_RE, Fact, norm
from xltools.narrative.reading import CHANGE_TAIL as _CHANGE_TAIL
from xltools.narrative.reading import UP_TAIL as _UP_TAIL
from xltools.narrative.reading import Reading, plain as _plain
from xltools.narrative.text import paragraphs, sectioned, sentences
from xltools.narrative.wording import PLACEHOLDER
from xltools.rules.engine import Finding

__all__ = ["check_text", "notes_findings", "notes_findings_rendered", "read_narrative", "findings_table", "split_sentences", "Mention", "mentions"]

TABLE = "情况说明"
HUNDRED = Decimal(100)
_DIGITS = str.maketrans("０１２３４５６７８９．，％", "0123456789.,%")
_NUM = re.compile(r"(?<![\d.])(\d[\d,]*(?:\.\d+)?)\s*(万元|亿元|元|%|个|人次|人|辆|台|套|批次|平方米|分|项|家|条|月|日|年)?")
_DELIM = "，。；：,;:、！？"
# “2026年预算安排 Y万元” (上海 预算): the figure itself of the subject the paragraph names
_GENERIC = re.compile(r"^(\d{4}年度?)?(其中)?(本年)?(支出|收入)?(决算|预算)?(安排)?(数)?(为|是|达)?$")


# “决算数大于预算数” / “决算数与预算数持平”: the verdict a 决算 narrative gives on its two figures
_VERDICT = re.compile(r"决算数?(?:(大于|高于|多于|超过|超出)|(小于|低于|少于)|(等于))(?:年初)?预算数?|"
                      r"决算数?与(?:年初)?预算数?(基本)?(持平|相等|一致|相同)")
_CONTINUE = re.compile(r"^\s*([二三四五六七八九十]是|其次|再次|此外|另外|同时)")
_FUTURE = re.compile(r"下一步|将|计划|推进|编制|预计|拟|力争|明年|今后")


@dataclass
class Mention:
    kind: str                 # amount | pct | year | count
    value: Decimal
    text: str                 # as written
    start: int
    end: int
    unit: str = ""
    decimals: int = 0
    label: str = ""           # raw text since the previous amount/percentage/count
    clause: str = ""          # normalised text since the last punctuation mark before it
    in_brackets: bool = False
    after_reason: bool = False


def _decimals(num: str) -> int:
    return len(num.split(".")[1]) if "." in num else 0


def mentions(sentence: str) -> list[Mention]:
    """Amounts, percentages, counts and years of one sentence, in order."""
    s = sentence.translate(_DIGITS)
    out: list[Mention] = []
    prev_end = 0
    depth_at = _BracketDepth(s)
    for m in _NUM.finditer(s):
        num, unit = m.group(1), m.group(2) or ""
        try:
            val = Decimal(num.replace(",", ""))
        except InvalidOperation:
            continue
        if unit == "项" and m.start() > 0 and s[m.start() - 1] in "（(" and s[m.end():m.end() + 1] in ("）", ")"):
            continue                       # “行政运行（01项）”: a 科目 code (上海), not a count
        if unit == "年" and "." not in num and len(num.replace(",", "")) == 4:
            kind = "year"
        elif unit in ("万元", "亿元", "元"):
            kind = "amount"
        elif unit == "%":
            kind = "pct"
        elif unit:
            kind = "count"
        else:
            continue                       # a bare number: a code, a date part, a list number
        if unit == "亿元":
            val, unit = val * 10000, "万元"
        label = s[prev_end:m.start()].replace("收入、支出", "收支").replace("收、支", "收支")
        # the clause: since the last punctuation mark (a bracket counts as one)
        cut = _last_delim(label)
        clause = label[cut + 1:] if cut >= 0 else label
        mt = Mention(kind, val, m.group(0).strip(), m.start(), m.end(), unit, _decimals(num), label, norm(clause),
                     in_brackets=depth_at(m.start()) > 0, after_reason=_in_reason(s, m.start()))
        out.append(mt)
        if kind != "year":
            prev_end = m.end()
    return out


_DELIM_MAP = str.maketrans({c: "\x00" for c in _DELIM})


def _last_delim(s: str) -> int:
    """Index of the last punctuation mark of ``s`` (-1: none)."""
    return s.translate(_DELIM_MAP).rfind("\x00")


class _BracketDepth:
    """The bracket depth at a position (positions asked in increasing order: linear in the sentence)."""

    def __init__(self, s: str):
        self.marks = [(m.start(), m.group()) for m in _BRACKET.finditer(s)]
        self.i, self.depth, self.pending_close = 0, 0, False

    def __call__(self, pos: int) -> int:
        # a closing bracket counts up to and including its own position (as the old per-character walk did)
        while self.i < len(self.marks) and self.marks[self.i][0] < pos:
            ch = self.marks[self.i][1]
            if ch in "（(":
                self.depth += 1
            elif self.depth:
                self.depth -= 1
            self.i += 1
        depth = self.depth
        if self.i < len(self.marks) and self.marks[self.i][0] == pos and self.marks[self.i][1] in "（(":
            depth += 1
        return depth


_BRACKET = re.compile(r"[（()）]")


def _headed_by(label: str) -> str:
    """The clause before a colon that ends ``label`` ("2080109-社会保险经办机构：支出决算为" → its name)."""
    cut = _last_delim(label)
    if cut < 0 or label[cut] not in "：:":
        return ""
    head = label[:cut]
    start = _last_delim(head)
    return norm(head[start + 1:])


# in an explanation (after 主要原因), a name ties the amount only when at most this many characters stand between
# them (“人大立法支出增加 280 万元”: 4; “人大立法研究所办公用房以及省级老同志阅文室专项经费 280 万元”: 21)
_EXPLANATION_GAP = 12


def _in_reason(s: str, pos: int) -> bool:
    """Is ``pos`` inside the explanation after 主要原因? It runs to the next ； unless the text after
    the ； goes on listing reasons (二是…)."""
    r = s.rfind("主要原因", 0, pos)
    if r < 0:
        return False
    for seg in re.split(r"[；;]", s[r:pos])[1:]:
        if not _CONTINUE.match(seg):
            return False
    return True


def split_sentences(paragraph: str) -> list[str]:
    return sentences(paragraph)


# ---------------------------------------------------------------- tying mentions to facts

@dataclass
class Tie:
    """What the words of a clause name: one fact, several (``candidates``), or a name that is not a fact
    (``blocked``: 其他X, an 经济分类 name, a longer name) hiding the fact ``shadowed`` inside it."""
    fact: Fact | None = None
    candidates: tuple = ()
    blocked: str = ""
    shadowed: Fact | None = None
    gap: int = 0              # characters between the end of the name and the end of the clause


_NO_TIE = Tie()


class _Aliases:
    """The names of the facts (and, as blockers, every 科目 name of the catalog), found at the end of a
    clause: the name that ends last wins, and of those the longest — "其他社会保障和就业支出" is not
    "社会保障和就业支出", "公务员医疗补助缴费" (经济分类 30111) is not "公务员医疗补助" (功能分类 2101103)."""

    def __init__(self, facts: dict[str, Fact], year: int | None = None, titles: dict[str, str] | None = None):
        self.titles = sorted((titles or {}).items(), key=lambda p: -len(p[0]))   # normalised title → table id
        names: dict[str, list[Fact]] = {}
        for f in facts.values():
            if f.key.startswith(("sangong_budget.", "prior.", "budget.")):
                continue
            for a in f.aliases:
                if len(a) >= 2 and f not in names.setdefault(a, []):
                    names[a].append(f)
        self.names = names
        self.compared = {k for k in facts if k.startswith(("prior.", "budget.", "sangong_budget."))}
        blockers: set[str] = set()
        try:
            from xltools import catalog

            for cat in (catalog.functional(year), catalog.economic(year)):
                for s in cat:
                    for n in (s.name, *s.aliases):
                        n = norm(n)
                        if len(n) >= 3 and n not in names:
                            blockers.add(n)
        except Exception:          # no catalog: the facts' names alone
            blockers = set()
        self.by_last: dict[str, list[tuple[str, tuple]]] = {}
        for n, fs in list(names.items()) + [(n, ()) for n in blockers]:
            self.by_last.setdefault(n[-1], []).append((n, tuple(fs)))
        for lst in self.by_last.values():
            lst.sort(key=lambda p: -len(p[0]))

    def _last(self, clause: str, start: int = 0, end: int | None = None, facts_only: bool = False):
        """(name, facts, start) of the name ending last in clause[start:end] (longest at that end)."""
        end = len(clause) if end is None else end
        for e in range(end, start, -1):
            for n, fs in self.by_last.get(clause[e - 1], ()):
                if facts_only and not fs:
                    continue
                s = e - len(n)
                if s >= start and clause.startswith(n, s):
                    return n, fs, s
        return None

    def table_named(self, heading: str) -> str | None:
        """The table a section heading names (“四、财政拨款收支预算总表情况说明”: the longest title in it)."""
        h = norm(heading)
        return next((tid for title, tid in self.titles if title in h), None)

    def tie(self, clause: str, table: str | None = None) -> Tie:
        """``table``: the table the section speaks of (its figures are what a name shared by several means)."""
        hit = self._last(clause)
        if hit is None:
            return _NO_TIE
        n, fs, s = hit
        rest = clause[s + len(n):]
        if fs and all(f.key.startswith("econ.") for f in fs) and rest.startswith("项") and not rest.startswith("项目"):
            # “未归口管理行政单位离退休费（项）” (the clause is normalised: no brackets): a 项 is a 功能分类 name;
            # an 经济分类 款 at its end (退休费) is not what it names
            return Tie(blocked=n)
        other = clause[max(0, s - 2):s] == "其他" and not n.startswith("其他")
        if fs and not other:
            if len(fs) == 1 or len({f.value for f in fs}) == 1:
                # the same figure in two tables: the one a comparison can go on with (its 上年/预算 figure)
                best = next((f for f in fs if self.compared.intersection(
                    (f"prior.{f.key}", f"budget.{f.key}", f"sangong_budget.{f.key.partition('.')[2]}"))), fs[0])
                return Tie(fact=best, candidates=fs, gap=len(clause) - s - len(n))
            # different figures under one name: the section's table's; else the one not kept to its section
            mine = [f for f in fs if table is not None and f.source.startswith(table + "!")]
            if len(mine) != 1 and any(f.section_only for f in fs):
                mine = [f for f in fs if not f.section_only]
            if len(mine) == 1:
                return Tie(fact=mine[0], candidates=fs, gap=len(clause) - s - len(n))
            return Tie(candidates=fs, gap=len(clause) - s - len(n))
        # a name that is not a fact: does it hide one (the fact a shorter reading would take)?
        lo = s - 2 if other else s
        inner = self._last(clause, lo, s + len(n), facts_only=True)
        blocked = ("其他" + n) if other else n
        return Tie(blocked=blocked, shadowed=inner[1][0] if inner else None)

    def find(self, clause: str, table: str | None = None) -> Fact | None:
        """The one fact the clause names last (None: no fact, or not exactly one)."""
        return self.tie(clause, table).fact


# a 科目 named by its path, “一般公共服务支出（类）财政事务（款）行政运行（项）” (上海 决算 五(三) items; codes may
# stand in the brackets: “（204类）司法（06款）行政运行（01项）”)
_NAME = r"([^\s（()）,，。；;：:、！？\d]+?)\s*"
_PATH = re.compile(_NAME + r"[（(]\s*(\d{3})?\s*类\s*[)）]\s*(?:" + _NAME + r"[（(]\s*(\d{2})?\s*款\s*[)）]\s*(?:"
                   + _NAME + r"[（(]\s*(\d{2})?\s*项\s*[)）])?)?")


@functools.lru_cache(maxsize=1024)
def _path_code(year: int | None, cls: str, kuan: str | None, xiang: str | None) -> str | None:
    """The code of the 科目 a printed path names (None: a level that names no single 科目 of the catalog)."""
    from xltools import catalog

    fc = catalog.functional(year)

    def pick(cands, name):
        hits = [c for c in cands if fc.matches_name(c.code, name) or fc.matches_name(c.code, name + "支出")]
        if not hits:            # words before the name ("主要用于一般公共服务支出（类）"): the name it ends with
            tails = [(len(t), c) for c in cands for t in {c.name, c.name.removesuffix("支出")}
                     if len(t) >= 2 and name.endswith(t)]
            hits = [c for n, c in tails if n == max(tails, key=lambda x: x[0])[0]] if tails else []
        return hits[0] if len(hits) == 1 else None

    node = pick(fc.classes(), cls)
    for name in (kuan, xiang):
        if node is None or not name:
            break
        node = pick(fc.children(node.code), name)
    return node.code if node is not None else None


def _named_path(text: str, year: int | None) -> tuple[str, str | None] | None:
    """(the path as printed, its code or None) of the last 科目 path in ``text`` (None: no path)."""
    if "类" not in text:
        return None
    last = None
    for last in _PATH.finditer(text):
        pass
    if last is None:
        return None
    cls, c1, kuan, c2, xiang, c3 = last.groups()
    try:
        code = _path_code(year, cls, kuan, xiang)
        if code is None and c1 and (c2 or not kuan) and (c3 or not xiang):   # the codes it prints
            from xltools import catalog

            code = c1 + (c2 or "") + (c3 or "")
            code = code if code in catalog.functional(year) else None
    except Exception:           # no catalog: a path the checker cannot resolve
        code = None
    return re.sub(r"\s", "", last.group(0)), code


def _to_unit(yuan: Decimal, unit: str) -> Decimal:
    return yuan / 10000 if unit == "万元" else yuan


def _yuan(m: Mention) -> Decimal:
    return m.value * 10000 if m.unit == "万元" else m.value


def _fmt(yuan: Decimal, unit: str, decimals: int = 2) -> str:
    v = _to_unit(yuan, unit).quantize(Decimal(1).scaleb(-max(decimals, 2)), rounding=ROUND_HALF_UP)
    return f"{v:,.2f}{unit}" if unit == "元" else f"{v:.2f}{unit}"


def _matches(m: Mention, yuan: Decimal, unit: str | None = None) -> bool:
    """The written number equals ``yuan`` rounded half-up to the written precision in ``unit``."""
    unit = unit or m.unit
    q = Decimal(1).scaleb(-m.decimals)
    return _to_unit(yuan, unit).quantize(q, rounding=ROUND_HALF_UP) == m.value


def _truncates(m: Mention, yuan: Decimal) -> bool:
    q = Decimal(1).scaleb(-m.decimals)
    return _to_unit(yuan, m.unit).quantize(q, rounding=ROUND_DOWN) == m.value


def _pct_ok(m: Mention, expected: Decimal | None) -> bool:
    """The written percentage agrees with ``expected`` (None: nothing to agree with → False)."""
    if expected is None:
        return False
    tol = max(Decimal("0.01"), Decimal("0.5") * Decimal(1).scaleb(-m.decimals))
    return abs(m.value - expected) <= tol + Decimal("0.00001")


def _fits(m: Mention, num: Decimal | None, den: Decimal | None, h: Decimal) -> bool:
    """The written percentage is what ``num`` ÷ ``den`` rounds to for some values the printed operands allow
    (each ± ``h``, half their last printed digit): 99.99 % is not 15867.83 ÷ 15868.05 (every value it allows
    rounds to 100.00 %); 49.03 % is 0.51 ÷ 1.04 (48.79–49.28 % all fit)."""
    if num is None or den is None or den == ZERO:
        return False
    dens = (den - h, den + h)
    if dens[0] <= ZERO <= dens[1]:
        return True
    vals = [a * HUNDRED / b for a in (num - h, num + h) for b in dens]
    hp = Decimal("0.5") * Decimal(1).scaleb(-m.decimals)
    return min(vals) <= m.value + hp and max(vals) >= m.value - hp


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == ZERO:
        return None
    return (part * HUNDRED / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class _State:
    subject: Fact | None = None
    current: Decimal | None = None          # the subject's amount (the table's, when the text agrees)
    current_written: Decimal | None = None  # … as the text writes it (rounded to 万元, say)
    whole: tuple[Fact | None, Decimal] | None = None
    last_amount: Decimal | None = None
    last_amount_fact: Fact | None = None
    ref: tuple[str, Decimal] | None = None  # ("prior"|"budget", 元) stated in this sentence
    sentence: str = ""
    unit: str = ""                          # the unit the sentence's amounts are printed in
    change: tuple | None = None   # (|D| carried on, base, role, |D| as written)
    alt_base: Decimal | None = None         # the base a change implies from the table's figure (not the text's)
    named: str = ""                         # a 科目 the paragraph names that is no fact of the tables
    stated: dict = field(default_factory=dict)   # role → (subject, 元 as written): "决算数大于预算数" is read on them
    findings: list = field(default_factory=list)


# a year left blank: "、年" / "追加 年" (a word, spaces, 年), not 年初/年末/… nor 上年/本年/…
_BLANK_YEAR = re.compile(r"(?:([、，；：（(])\s*|([\u4e00-\u9fff])\s+)年(?![初末中底内均龄限份终薪级检假])")
_BLANK_AMOUNT = re.compile(r"([\u4e00-\u9fff])(\s*)元(?=[。，；、）)\s]|$)")
_LEFTOVERS = [(re.compile(p), msg) for p, msg in [
    (PLACEHOLDER.pattern, "模板占位符“XXX”未替换"),
    (r"[（(](增加|减少|增长|下降|降低|大于|小于)[）)]", "模板中的备选词“（增加）/（减少）”之类未删去"),
    (r"〔\s*〕", "文号“〔〕号”未填写"),
    (r"(万元|(?<![万亿千百])元)元", "单位重复（“元元”）"),
    (r"主要原因(是|为)?[：:]?\s*主要(原因)?是", "“主要原因是主要是”用词重复"),
]]


def _titles(report: Report) -> dict[str, str]:
    """The titles of the report's tables, the aliases they are printed under and the section headings that speak
    of them (tables.yaml ``sections:``), normalised → table id (a heading naming one opens a section about it)."""
    from xltools.spec import load_set

    try:
        tables = load_set(report.set_id).tables
    except Exception:           # a report of no known set: no section is about a table
        return {}
    out = {}
    for tid in report.tables:
        t = tables.get(tid)
        for title in ((t.title, *t.aliases, *t.sections) if t is not None else ()):
            if len(norm(title)) >= 4:
                out.setdefault(norm(title), tid)
    return out


class _Checker:
    def __init__(self, report: Report, facts: dict[str, Fact], reading: Reading):
        self.report = report
        self.facts = facts
        self.aliases = _Aliases(self.facts, report.year, _titles(report))
        self.table: str | None = None       # the table the section being read speaks of
        self.year = report.year
        self.reading = reading
        self.out: list[Finding] = []

    # -- helpers
    def add(self, rule, level, sentence, message, expected=None, actual=None, difference=None):
        self.out.append(Finding(rule, level, TABLE, sentence, message, expected=expected, actual=actual,
                                difference=difference))

    def add_share(self, rule: str, sentence: str, kin: str, message: str, **kw) -> None:
        """A wrong share (error): the headline of its defect, or — when an earlier share of the sentence is one whose
        message holds ``kin`` (the same base, the same whole) — a consequence naming that headline."""
        head = next((f for f in self.out if f.rule == rule and f.cell == sentence and not f.cause and kin in f.message),
                    None)
        self.add(rule, "error", sentence, message, **kw)
        if head is not None:
            from xltools.rules.causes import cause_of

            self.out[-1] = dataclasses.replace(self.out[-1], cause=cause_of(head))

    def related(self, role: str, subject: Fact | None) -> Fact | None:
        if subject is None:
            return None
        if role == "budget" and subject.key.startswith("sangong."):
            rel = self.facts.get("sangong_budget." + subject.key.split(".", 1)[1])
        else:
            rel = self.facts.get(f"{role}.{subject.key}")
        # a figure of a table the file does not hold (or could not read) is no figure to compare with
        return None if rel is not None and self.unpublished(rel) else rel

    def unpublished(self, fact: Fact | None) -> str:
        """The table a fact is read from (“公开03表“支出决算表””), when the document did not publish it."""
        unread = self.report.unread
        if fact is None or not (self.report.not_published or unread):
            return ""
        parts = [part.strip().lstrip("-").split("!", 1) for part in fact.source.split("+") if "!" in part]
        tids = {t for t, _ in parts}
        hit = sorted(tids.intersection(self.report.not_published))
        note = ""
        if not hit and unread:
            # an imported document whose import could not read the fact's row (Report.unread): not a figure to
            # hold the text against
            hit = sorted(t for t, cell in parts if t in unread and
                         ("*" in unread[t] or cell.rsplit(".", 1)[0] in unread[t]))
            note = "（本文件中该数未能读出）"
        if not hit:
            return ""
        try:
            from xltools.spec import load_set

            t = load_set(self.report.set_id).tables[hit[0]]
            return f"{t.number}“{t.title}”{note}"
        except Exception:          # a hand-made report without its set: the table's id
            return hit[0] + note

    def named_subject(self, text: str, st: _State) -> None:
        """A 科目 named by its path before a sentence's first figure (“1、…（类）…（款）行政运行（项）。主要用于…。
        年初预算为…，支出决算为…”) is what the paragraph's figures speak of from there on: its fact, or — a
        科目 the tables do not hold — a name whose figures are left as info."""
        hit = _named_path(text, self.year)
        if hit is None:
            return
        printed, code = hit
        fs = ()
        if code:
            fs = self.aliases.names.get(code, ())
            if not fs and len(code) == 3:
                from xltools.narrative.facts import class_name

                fs = self.aliases.names.get(norm(class_name(code, self.year)), ())
        fact = fs[0] if fs and len({f.value for f in fs}) == 1 else None
        if fact is not None and st.subject is not None and fact.key == st.subject.key:
            return
        st.subject, st.named = fact, ("" if fact is not None else printed)
        st.current = st.current_written = None
        st.stated = {}

    def verdict(self, sentence: str, st: _State) -> None:
        """“决算数大于预算数” against the 年初预算 and 支出决算 the paragraph states for its subject (N-06). The
        words after 主要原因 are the explanation (of parts: "一是公务接待费支出决算数小于预算数"), not read."""
        reason = sentence.find("主要原因")
        depth = _BracketDepth(sentence)
        for m in _VERDICT.finditer(sentence):
            if 0 <= reason < m.start():
                return
            if depth(m.start()) or m.group(4):       # in brackets; 基本持平 is a judgement, not a figure
                continue
            bud, act = st.stated.get("budget"), st.stated.get("actual")
            if bud is None or act is None or bud[0] != act[0]:
                return
            have = ">" if act[1] > bud[1] else "<" if act[1] < bud[1] else "="
            want = ">" if m.group(1) else "<" if m.group(2) else "="
            if have != want:
                word = {">": "大于", "<": "小于", "=": "等于"}[have]
                unit = st.unit or self.report.amount_unit
                self.add("N-06", "error", sentence,
                         f"“{m.group(0)}”与文中数字不符：支出决算 {_fmt(act[1], unit)}{word}年初预算 {_fmt(bud[1], unit)}，"
                         f"应为“决算数{word}预算数”", expected=f"决算数{word}预算数", actual=m.group(0))
            return

    def role_of(self, m: Mention) -> str:
        return self.reading.role(m.clause)

    def compared_with(self, before: str) -> str | None:
        return self.reading.compared_with(norm(before))

    # -- the walk
    def check(self, text: str) -> list[Finding]:
        intro: _State | None = None          # the paragraph that opened the list under way
        for para, self.table in sectioned(paragraphs(text), self.aliases.table_named):
            st = _State()
            if para.heading:
                intro = None
            elif para.item and intro is not None:
                # a numbered item carries its list's subject (and the whole its shares are of)
                st.subject, st.whole = intro.subject, intro.whole
                st.current, st.current_written = intro.current, intro.current_written
            in_reason = False
            for sentence in sentences(para.text):
                st.ref, st.change, st.alt_base = None, None, None
                st.sentence = sentence.translate(_DIGITS)
                # "一是……。二是……。": the sentences after a 主要原因 that go on listing reasons
                continued = in_reason and _CONTINUE.match(sentence) is not None
                in_reason = continued or "主要原因" in sentence
                self.leftovers(sentence)
                self.years(sentence)
                found = mentions(sentence)
                self.named_subject(sentence[:found[0].start] if found else sentence, st)
                for m in found:
                    if continued:
                        m.after_reason = True
                    if m.kind == "amount":
                        self.amount(m, sentence, st)
                    elif m.kind == "pct":
                        self.percent(m, sentence, st)
                    elif m.kind == "count":
                        st.last_amount, st.last_amount_fact = None, None
                if not continued:
                    self.verdict(sentence, st)
            if not para.item and not para.heading:
                intro = st
        return self.out

    def untied(self, m: Mention, sentence: str, tie: Tie) -> None:
        """N-00 info: the figure's words name no single fact of the tables."""
        if tie.candidates:
            names = "、".join(f"{f.label}（{f.source}）" for f in tie.candidates)
            why = f"“{m.clause[-12:]}”可指{names}，各不相同"
        else:
            why = f"“{tie.blocked}”不是“{tie.shadowed.label}”" if tie.shadowed else f"“{tie.blocked}”不在表中"
        self.add("N-00", "info", sentence, f"无法核对：“{m.text}”—— {why}，表中没有与之对应的唯一数据",
                 actual=m.text)

    def half(self, st: _State) -> Decimal:
        """Half the last printed digit of an amount in the sentence (万元 to the hundredth: 50 元)."""
        unit = st.unit or self.report.amount_unit
        return Decimal(50) if unit == "万元" else Decimal("0.005")

    def amount(self, m: Mention, sentence: str, st: _State) -> None:
        if m.in_brackets:                  # an explanation in brackets: the writer's own figures
            return
        st.unit = m.unit
        if self.reading.unchecked(m.clause):
            st.last_amount, st.last_amount_fact = _yuan(m), None
            return
        if not m.after_reason and self.reading.gives_reason(sentence[:m.start]):
            m.after_reason = True
        tie = self.aliases.tie(m.clause, self.table)
        if tie is _NO_TIE:
            tie = self.aliases.tie(_headed_by(m.label), self.table)     # "X：支出决算为 N": X names the figure
        fact = tie.fact
        if fact is None and len(tie.candidates) > 1:
            fact = next((f for f in tie.candidates if _matches(m, f.value)), None)
        if fact is None and (tie.shadowed is not None or tie.candidates):
            if not m.after_reason:
                self.untied(m, sentence, tie)
            st.last_amount, st.last_amount_fact = _yuan(m), None
            return
        explanation = m.after_reason
        if explanation and fact is not None and tie.gap > _EXPLANATION_GAP:
            # “主要原因是新增省人大立法研究所办公用房以及…专项经费280万元”: a name inside the words of the
            # explanation, far from the amount (人大立法 of 人大立法研究所), does not make the amount its figure
            fact = None
        if explanation and fact is None:
            st.last_amount, st.last_amount_fact = _yuan(m), None
            return
        role = self.role_of(m)
        if role == "other":                # 全年预算 / 调整预算 …: a figure the tables do not hold
            self.add("N-00", "info", sentence, f"无法核对：“{m.clause[-12:]}{m.text}”不是表中的数（如全年预算、调整预算），"
                     f"未与{'年初预算数' if fact else '表中数据'}比较", actual=m.text)
            st.ref = ("other", _yuan(m))      # a change in this sentence is against it, as written
            st.last_amount, st.last_amount_fact = _yuan(m), None
            return
        if fact is None and role == "actual" and st.subject is not None:
            fact = self.family(st.subject, m.clause)
            if fact is None and not _GENERIC.match(_plain(m.clause)):
                st.last_amount, st.last_amount_fact = _yuan(m), None     # names something we do not know
                return
        if fact is not None and role in ("actual", "budget", "prior") and not fact.key.startswith(("prior.", "budget.")):
            if role == "actual" or st.subject is None or fact.key != st.subject.key:
                st.subject = fact
        subject = fact or st.subject
        if fact is not None:
            st.named = ""
        if subject is None and st.named and role in ("actual", "budget", "prior") and not explanation:
            # the paragraph names a 科目 (“…（类）…（款）…（项）”) the tables do not hold
            self.add("N-00", "info", sentence, f"无法核对：“{m.text}”——文中所说的“{st.named}”不在表中，"
                     f"表中没有与之对应的数据", actual=m.text)
            st.stated[role] = (st.named, _yuan(m))
            if role != "actual":
                st.ref = (role, _yuan(m))
            st.last_amount, st.last_amount_fact = _yuan(m), None
            return
        missing = self.unpublished(subject) if role == "actual" else ""
        if missing:
            tail = "" if missing.endswith("（本文件中该数未能读出）") else "，本文件未公开该表"
            self.add("N-00", "info", sentence, f"无法核对：{subject.label}“{m.text}”——{subject.label}出自{missing}"
                     f"{tail}", actual=m.text)
            st.current = st.current_written = _yuan(m)
            st.stated["actual"] = (subject.key, _yuan(m))
            st.last_amount, st.last_amount_fact = _yuan(m), None
            return
        value = _yuan(m)
        if role == "actual":
            if subject is not None:
                st.stated["actual"] = (subject.key, _yuan(m))
                value = self.compare(m, subject.value, sentence, subject.label, subject)
                st.current = value
                st.current_written = _yuan(m) if value == subject.value else value
                if subject.whole and (st.whole is None or fact is not None):
                    st.whole = (subject, value)
            st.last_amount, st.last_amount_fact = value, subject
            return
        if role in ("budget", "prior"):
            st.stated[role] = (subject.key if subject is not None else "", _yuan(m))
            rel = self.related(role, subject)
            if rel is None and subject is not None and not explanation and role == "budget" and \
                    "年初预算" in m.clause and not subject.key.startswith(("budget.", "prior.")):
                # the 年初预算 of a 项 (or of a total) that no table of the set gives
                self.add("N-00", "info", sentence, f"无法核对：{subject.label}年初预算“{m.text}”——表中没有"
                         f"{subject.label}的年初预算数", actual=m.text)
            if rel is not None and not explanation:
                word = "年初预算数" if role == "budget" else "上年决算数"
                src = "公开07表预算数" if rel.key.startswith("sangong_budget.") else "说明事项"
                value = self.compare(m, rel.value, sentence, f"{subject.label}{word}（{src}）", rel)
            st.ref = (role, value)
            st.last_amount, st.last_amount_fact = value, None
            return
        # a change: 增加/减少 X
        up = _UP_TAIL.search(m.clause.rstrip("各")) is not None
        if explanation:
            # in an explanation only a change of a figure the clause names, against its own prior figure
            rel = self.related("prior", fact)
            if rel is not None:
                self.check_change(m, sentence, fact.value, rel.value, "prior", up)
            return
        if fact is not None and not fact.key.startswith(("prior.", "budget.")) and \
                (st.subject is None or fact.key != st.subject.key):
            # the change of the figure its own clause names ("公务接待费较去年减少…"), not of the last one
            st.subject, st.current, st.current_written = fact, fact.value, fact.value
            if self.unpublished(fact):      # a figure of a table the file does not hold (or could not read)
                st.current = st.current_written = None
            subject = fact
        base_role, base = self.change_base(m, st, subject)
        value = _yuan(m)
        if base is not None and st.current is not None:
            value = self.check_change(m, sentence, st.current, base, base_role, up)
        st.change = (value, base, base_role if base is not None else "derived", _yuan(m))
        if base is None and st.current is not None:
            # no base stated or known: the base the change implies (本年 ∓ 增减额)
            st.change = (value, st.current - value if up else st.current + value, "derived", _yuan(m))
            if subject is not None and subject.value != st.current and \
                    not subject.key.startswith(("prior.", "budget.")) and not self.unpublished(subject):
                # the text's own figure is wrong (reported): the base is the table's figure ∓ the change
                st.alt_base = subject.value - value if up else subject.value + value
        st.last_amount, st.last_amount_fact = None, None

    def check_change(self, m: Mention, sentence: str, cur: Decimal, base: Decimal, base_role: str,
                     up: bool) -> Decimal:
        diff = cur - base
        value = self.compare(m, abs(diff), sentence, "增减额", None, what="增减额")
        if diff != ZERO and up != (diff > ZERO):
            self.add("N-06", "error", sentence,
                     f"“{m.clause[-6:]}{m.text}”方向不对：本年 {_fmt(cur, m.unit)} {'小于' if diff < 0 else '大于'}"
                     f"{'上年' if base_role == 'prior' else '预算'} {_fmt(base, m.unit)}，应为"
                     f"“{'增加' if diff > 0 else '减少'}”", expected="增加" if diff > 0 else "减少",
                     actual="增加" if up else "减少")
        return value

    def family(self, subject: Fact, clause: str) -> Fact | None:
        """本年收入 … 支出 … 年末结转和结余 of one fund: the clause names a sibling of the subject."""
        for fam in ("gf", "soe"):
            if subject.key in (fam, f"{fam}_income", f"{fam}_closing"):
                c = _plain(clause)
                if "年末结转" in c or "结余" in c:
                    return self.facts.get(f"{fam}_closing")
                if "支出" in c:
                    return self.facts.get(fam)
                if "收入" in c:
                    return self.facts.get(f"{fam}_income")
        return None

    def change_base(self, m: Mention, st: _State, subject: Fact | None) -> tuple[str, Decimal | None]:
        want = self.compared_with(st.sentence[:m.start])
        if st.ref is not None and (want is None or st.ref[0] in (want, "other")):
            return st.ref
        role = want or "prior"
        rel = self.related(role, subject)
        if rel is not None:
            return role, rel.value
        return role, None

    def compare(self, m: Mention, expected: Decimal, sentence: str, label: str, fact: Fact | None,
                what: str = "") -> Decimal:
        """Check the written amount; return the value to carry on with (the corrected one on a unit slip)."""
        if _matches(m, expected):
            return expected
        other = "万元" if m.unit == "元" else "元"
        if expected != ZERO and (_matches(m, expected, other) or
                                 (other == "元" and _to_unit(expected, other) == m.value)):
            self.add("N-02", "error", sentence,
                     f"“{m.text}”单位有误：{label}为 {_fmt(expected, other)}，应写作“{_fmt(expected, other)}”"
                     f"（文中把{other}写成了{m.unit}）", expected=_fmt(expected, other), actual=m.text)
            return expected
        how = "（疑似截尾而未四舍五入）" if _truncates(m, expected) else ""
        src = f"（{fact.source}）" if fact is not None and fact.source else ""
        diff = m.value - _to_unit(expected, m.unit).quantize(Decimal(1).scaleb(-m.decimals), rounding=ROUND_HALF_UP)
        self.add("N-06" if what == "增减额" else "N-01", "error", sentence,
                 f"“{m.text}”与表中数据不符：{label}{src}为 {_fmt(expected, m.unit)}{how}",
                 expected=_fmt(expected, m.unit), actual=m.text, difference=f"{diff}")
        return _yuan(m)

    def percent(self, m: Mention, sentence: str, st: _State) -> None:
        if st.whole is None:
            wf = self.reading.sentence_whole(sentence, self.facts)
            if wf is not None:
                st.whole = (wf, wf.value)
        c = m.clause
        label = m.label.strip(" ，,")
        if m.after_reason and not label.startswith("占"):
            return
        # share: 占 X%
        if label.startswith("占") or re.match(r"^占", c):
            part = st.last_amount
            if part is None:
                return
            whole_txt = norm(label[1:].rstrip("的"))
            if whole_txt and not whole_txt.startswith("比"):
                wf = self.aliases.find(whole_txt, self.table)
                if wf is None:
                    return
                whole = wf.value
                wname = wf.label
            elif st.whole is not None:
                wf, whole = st.whole
                wname = wf.label if wf else "合计"
            else:
                return
            exp = _pct(part, whole)
            h = self.half(st)
            pf = st.last_amount_fact
            # shares of a group are rounded to add to 100.00 % (largest remainder): one may move by 0.01
            grouped = pf is not None and pf.group and wf is not None and wf.whole
            if exp is None or _fits(m, part, whole, h) or \
                    (pf is not None and wf is not None and _fits(m, pf.value, wf.value, h)) or \
                    (grouped and _pct_ok(m, exp)):
                return
            alt = self.wrong_whole(m, part, wf, h)
            if alt:      # the shares of one sentence taken of the same wrong base: one defect
                self.add_share("N-03", sentence, f"文中是按{alt}计算的",
                               f"“{m.text}”的基数有误：按{wname} {_fmt(whole, '万元')}计算应为 {exp:.2f}%，文中是按{alt}计算的",
                               expected=f"{exp:.2f}%", actual=m.text)
            else:        # the shares of one whole a sentence lists are worked out together: those wrong, one defect
                self.add_share("N-04", sentence, f"占{wname}的比重应为",
                               f"“{m.text}”与数据不符：占{wname}的比重应为 {exp:.2f}%", expected=f"{exp:.2f}%",
                               actual=m.text, difference=f"{m.value - exp:.2f}")
            return
        # completion rate: 完成(年初)预算的 X%
        if "完成" in c and "预算" in c:
            if st.current is None:
                return
            budget = st.ref[1] if st.ref and st.ref[0] == "budget" else None
            rel = self.related("budget", st.subject)
            table_budget = rel.value if rel is not None else None
            if budget is None:
                budget = table_budget
            if budget is None or budget == ZERO:
                return
            exp = _pct(st.current, budget)
            exp_w = _pct(st.current_written, budget) if st.current_written is not None else None
            h = self.half(st)
            if _fits(m, st.current, budget, h) or (st.subject and _fits(m, st.subject.value, table_budget, h)) or \
                    _fits(m, st.current_written, budget, h):
                return
            exp = exp_w if exp_w is not None else exp     # as a reader recomputes it from the text
            hint = ""
            if _pct_ok(m, _pct(abs(st.current - budget), budget)) or (
                    st.current_written is not None and _pct_ok(m, _pct(abs(st.current_written - budget), budget))):
                hint = "；文中的数是决算数比预算数的增减幅度，不是完成率"
            self.add("N-05", "error", sentence,
                     f"“{m.text}”完成率有误：决算数 {_fmt(st.current, '万元')} ÷ 预算数 {_fmt(budget, '万元')} = {exp:.2f}%{hint}",
                     expected=f"{exp:.2f}%", actual=m.text, difference=f"{m.value - exp:.2f}")
            return
        if _CHANGE_TAIL.search(c) and st.change is None and st.ref is not None and st.ref[0] == "prior" \
                and st.current is not None:
            # “上年 X万元，本年 Y万元，比上年增加 p%” (上海 预算 “执行数为 X…预算安排 Y…比…执行数增加 p%”): no 增减额
            # in between — the change is Y − X, right against the table's Y or against Y as written
            base = st.ref[1]
            table = st.subject.value if st.subject is not None and \
                not st.subject.key.startswith(("prior.", "budget.")) else st.current
            written = st.current_written if st.current_written is not None else st.current
            st.change = (abs(table - base), base, "prior", abs(written - base))
        # change rate: 增长/下降 X%
        if _CHANGE_TAIL.search(c) and st.change is not None:
            d, base, role, stated = st.change
            if base is None:
                return
            if base == ZERO:
                if d != ZERO and m.value != ZERO:
                    self.add("N-04", "warning", sentence,
                             f"“{m.text}”：比较的基数为 0，增减幅度无从计算，不宜写百分比", actual=m.text)
                return
            exp = _pct(d, base)
            h = self.half(st)
            # the rate computed from the figures as the sentence prints them is right as well
            if _fits(m, d, base, h) or _fits(m, stated, base, h) or (
                    st.ref is not None and _fits(m, stated, st.ref[1], h)) or (
                    st.alt_base is not None and _fits(m, stated, st.alt_base, h)):
                return
            if st.alt_base is not None:            # the text's own figure was wrong: the table's base
                base = st.alt_base
                exp = _pct(d, base)
            if st.current is not None and _pct_ok(m, _pct(d, st.current)):
                basis = "上年数" if role in ("prior", "derived") else "预算数"
                self.add("N-03", "error", sentence,
                         f"“{m.text}”的基数有误：增减幅度应以{basis} {_fmt(base, '万元')}为基数，"
                         f"为 {exp:.2f}%；文中以本年数 {_fmt(st.current, '万元')}为基数",
                         expected=f"{exp:.2f}%", actual=m.text, difference=f"{m.value - exp:.2f}")
            else:
                self.add("N-04", "error", sentence,
                         f"“{m.text}”与数据不符：增减额 {_fmt(d, '万元')} ÷ 基数 {_fmt(base, '万元')} = {exp:.2f}%",
                         expected=f"{exp:.2f}%", actual=m.text, difference=f"{m.value - exp:.2f}")

    def wrong_whole(self, m: Mention, part: Decimal, wf: Fact | None, h: Decimal) -> str:
        for f in self.facts.values():
            if f.whole and f is not wf and f.value and (wf is None or f.value != wf.value):
                if _fits(m, part, f.value, h):
                    return f"{f.label}（{_fmt(f.value, '万元')}）"
        return ""

    # -- words
    def leftovers(self, sentence: str) -> None:
        s = sentence
        for pat, msg in _LEFTOVERS:
            for m in pat.finditer(s):
                self.add("N-08", "error" if "重复" not in msg else "warning", sentence, f"{msg}：“{m.group(0)}”",
                         actual=m.group(0))
        for m in _BLANK_AMOUNT.finditer(s):
            prev = m.group(1)
            if prev in "万亿千百单公美日欧港多纪元" or prev.isdigit():
                continue
            self.add("N-08", "error", sentence, f"金额空缺：“{m.group(0).strip()}”前没有数字", actual=m.group(0).strip())
        for m in _BLANK_YEAR.finditer(s):
            j, i = m.start(), m.end() - 1
            if m.group(2) and m.group(2) in "上本当今明去前全每多近该历同次度":
                continue
            self.add("N-08", "error", sentence, f"年份空缺：“{s[max(0, j - 4):i + 4].strip()}”", actual=s[j:i + 1])
        for m in re.finditer(MARKER_RE, s):
            self.add("N-09", "warning", sentence, f"尚未填写：{m.group(0)}", actual=m.group(0))

    def years(self, sentence: str) -> None:
        if not self.year:
            return
        s = sentence.translate(_DIGITS)
        for m in re.finditer(r"(?<!\d)(\d{4})\s*年", s):
            y = int(m.group(1))
            before = s[max(0, m.start() - 2):m.start()]
            after = re.sub(r"\s", "", s[m.end():m.end() + 12])
            if re.search(r"[与比较]$", before.strip()) and y != self.year - 1 and \
                    re.match(r"度?(决算|相比|比较|同期|减少|增加|下降|增长)", after):
                self.add("N-07", "error", sentence,
                         f"比较的年度应为 {self.year - 1} 年（上年），文中为“{m.group(0).strip()}”",
                         expected=str(self.year - 1), actual=str(y))
            elif re.match(r"度?部门决算", after) and y != self.year:
                self.add("N-07", "error", sentence, f"报告年度应为 {self.year} 年，文中为“{m.group(0).strip()}”",
                         expected=str(self.year), actual=str(y))
            elif re.search(r"截[至止]到?$", re.sub(r"\s", "", s[max(0, m.start() - 6):m.start()])) and \
                    re.match(r"(12月31日|末|底)", after) and y != self.reading.closing_year():
                # “截至 2023年 12 月 31 日” (车辆、资产): the year-end the set's figures stand at
                self.add("N-07", "error", sentence, f"截至日期的年度应为 {self.reading.closing_year()} 年，"
                         f"文中为“截至{m.group(0).strip()}”", expected=str(self.reading.closing_year()), actual=str(y))
            elif y > self.year and not _FUTURE.search(sentence):
                self.add("N-07", "warning", sentence,
                         f"“{m.group(0).strip()}”晚于报告年度 {self.year} 年，而句子说的是已发生的事，请核对年份",
                         expected=str(self.year), actual=str(y))


def check_text(text: str, report: Report) -> list[Finding]:
    """Findings for a narrative (plain text, one paragraph per line) against ``report``."""
    from xltools.narrative.sets import for_report

    nset = for_report(report)
    text = unicodedata.normalize("NFC", text)
    checker = _Checker(report, nset.facts(report), nset.reading(report.year))
    out = checker.check(text)
    # rules on the text's structure (their own modules): N-11 lists of parts, N-12–N-14 wording
    from xltools.narrative.lists import parts_findings
    from xltools.narrative.wording import wording_findings

    out += parts_findings(text, checker.facts, mentions=mentions, tie=checker.aliases.tie,
                          role=checker.reading.role, amount_unit=report.amount_unit,
                          table_named=checker.aliases.table_named)
    out += wording_findings(text, report)
    return out


def findings_table(findings) -> str:
    """Findings as the Markdown table FINDINGS.md keeps (rule | level | found | expected | sentence)."""
    lines = ["| rule | level | found | expected | sentence |", "|---|---|---|---|---|"]
    for f in findings:
        cells = [f.rule, f.level, f.actual or "", f.expected or "", f.cell]
        lines.append("| " + " | ".join(str(c).replace("|", "｜").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- reading a narrative

class NarrativeReadError(ValueError):
    pass


def read_narrative(path: str | Path, sheet: str | None = None) -> str:
    """Text of a narrative: .txt/.md, .docx (paragraphs), or a workbook's 情况说明 sheet (column A)."""
    from xltools.read import guard

    path = Path(path)
    if not path.exists():
        raise NarrativeReadError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".txt", ".md", ""):
            # a regular file, size-capped; UTF-8 / GBK / UTF-16 (BOM), anything else refused naming the line
            return guard.read_text(path, what="情况说明文本", error=NarrativeReadError)
        if suffix == ".docx":
            import docx

            guard.check_zip(path, "Word 文档", error=NarrativeReadError)
            from xltools.narrative.sheet import WARNING_PREFIX   # the red line `narrative --force` adds: not text
            doc = docx.Document(str(path))
            return "\n".join(t for p in doc.paragraphs if not (t := _docx_text(p)).startswith(WARNING_PREFIX))
        if suffix in (".xlsx", ".xlsm"):
            from python_calamine import CalamineWorkbook

            from xltools.narrative.model import SHEET
            guard.check_workbook(path, error=NarrativeReadError)
            wb = CalamineWorkbook.from_path(str(path))
            name = sheet or SHEET
            if name not in wb.sheet_names:
                raise NarrativeReadError(f"{path.name}：没有“{name}”页（先运行 xltools narrative 生成）")
            rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            from xltools.narrative.sheet import WARNING_PREFIX   # the red line above the title: not text
            return "\n".join(str(r[0]) for r in rows if r and str(r[0]).strip()
                             and not str(r[0]).startswith(WARNING_PREFIX))
    except NarrativeReadError:
        raise
    except Exception as exc:      # a damaged file: python-docx / calamine raise many kinds
        raise NarrativeReadError(f"{path.name}：无法读取，文件可能已损坏（{' '.join(str(exc).split())[:300]}）") from None
    raise NarrativeReadError(f"{path.name}：只能读取 .txt、.docx 或 .xlsx")


def _docx_text(paragraph) -> str:
    """A Word paragraph's text with every break kept as a line break (python-docx drops page and column
    breaks from ``paragraph.text``); the checker rebuilds sentences across them (narrative/text.py).
    Headers and footers (page numbers) are other parts of the document and are not read."""
    from docx.oxml.ns import qn

    t, br, cr, tab = qn("w:t"), qn("w:br"), qn("w:cr"), qn("w:tab")
    out = []
    for el in paragraph._p.iter(t, br, cr, tab):
        if el.tag == t:
            out.append(el.text or "")
        elif el.tag == tab:
            out.append(" ")
        else:
            out.append("\n")
    return "".join(out)


# ---------------------------------------------------------------- 说明事项 still empty

def _same(value, default) -> bool:
    try:
        return Decimal(str(value).strip()) == Decimal(str(default).strip())
    except InvalidOperation:
        return str(value).strip() == str(default).strip()


def _typed(report: Report) -> bool:
    return any(not k.startswith("_") and v is not None and v != "" for k, v in (report.notes or {}).items())


def _started(report: Report, items=None) -> bool:
    """Whether something other than the preset defaults is typed into 说明事项 (``items``: the report's
    ``note_items``, looked up here when not given and only when something is typed)."""
    notes = report.notes or {}
    if not _typed(report):        # nothing typed at all: no need to look at the items' defaults
        return False
    if items is None:
        from xltools.narrative.inputs import note_items

        items = note_items(report.set_id, report)
    defaults = {it.key: it.default for it in items if it.default is not None}
    for k, v in notes.items():
        if k.startswith("_") or v is None or v == "":
            continue
        if k in defaults and _same(v, defaults[k]):
            continue
        return True
    return False


REASON = "reason."     # the 说明事项 keys of 主要原因 (reason.<fact>.prior|budget)


def notes_findings(report: Report) -> list[Finding]:
    """N-10 warnings: the 主要原因 of a comparison the narrative states, left empty in 说明事项.

    Only for a report that carries 说明事项 (a workbook with the sheet, or a data folder with notes).
    A reason is needed where the narrative compares two known figures that differ; it shows as
    【请填写：…】 in the narrative and is listed here, never dropped. (Empty figures and counts show as
    markers in the narrative too; the comparison they would start is then not stated, so no reason
    is asked for yet.) The templates decide which comparisons ask for a reason; only the sections that can
    show an empty reason are rendered (``sets.missing``) — the same findings as from the whole narrative
    (``notes_findings_rendered``)."""
    if not _typed(report):
        return []
    from xltools.narrative.inputs import note_items
    from xltools.narrative.sets import missing

    items = note_items(report.set_id, report)      # once, for _started and the narrative's defaults
    return _reason_findings(report, lambda: missing(report, REASON, items=items), items)


def notes_findings_rendered(report: Report) -> list[Finding]:
    """N-10 from the whole rendered narrative: what ``notes_findings`` gives, the long way (the tests' reference)."""
    from xltools.narrative.sets import render

    return _reason_findings(report, lambda: [(k, v) for k, v in render(report).missing if k.startswith(REASON)])


def _reason_findings(report: Report, reasons, items=None) -> list[Finding]:
    notes = report.notes or {}
    # only once a user has started on 说明事项 (typed something other than the preset defaults):
    # a workbook used for its tables alone is not nagged
    if not _started(report, items):
        return []
    try:
        missing = reasons()
    except Exception as exc:   # a broken template must not stop the table checks
        return [Finding("N-10", "warning", "说明事项", "说明事项", f"情况说明模板无法生成：{exc}")]
    cells = notes.get("_cells", {}) if isinstance(notes.get("_cells"), dict) else {}
    out = []
    for key, label in missing:
        cell = cells.get(key, f"说明事项:{key}")
        out.append(Finding("N-10", "warning", "说明事项", cell, f"情况说明需要的说明事项未填写：{label}",
                           cells=(cell,) if "!" in cell else ()))
    return out
