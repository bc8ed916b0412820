"""The 绩效 block tables' data model: declarations (blocks.yaml), projects, printed numbers, data files."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

__all__ = ["BlockTable", "Project", "blocks_for", "blocks_of", "load_blocks", "dec", "half_unit"]


@dataclass(frozen=True)
class BlockTable:
    id: str
    kind: str                 # targets | selfeval
    title: str
    form: str = "simple"      # targets: simple (年度资金总额 = 财政拨款 + 其他资金) | full (项目总额, 本级/转移 资金)
    number: str = ""
    project_total: str = ""   # a table reference Σ 年度资金总额 must equal, e.g. "B02!total.project"
    subject_col: str = ""     # per 项: "B02!{code}.project"
    variants: tuple[str, ...] = ()   # the variants whose form prints it (empty: every variant of the set)

    def sheet_name(self) -> str:
        return self.title[:31]


@dataclass
class Project:
    name: str = ""
    fields: dict = field(default_factory=dict)          # text fields: department, implementer, attribute …
    funds: dict = field(default_factory=dict)           # key → Decimal | list (selfeval rows) | None
    indicators: list = field(default_factory=list)      # list of lists of str (targets: 4, selfeval: 8)
    source: str = ""                                    # "表!A12" or "B09.yaml:项目 3"
    cells: dict = field(default_factory=dict)           # key → cell address in the workbook


@functools.lru_cache(maxsize=None)
def blocks_for(set_id: str) -> tuple[BlockTable, ...]:
    import yaml

    from xltools.spec import templates_dir

    path = templates_dir() / set_id / "blocks.yaml"
    if not path.is_file():
        return ()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for b in doc.get("blocks", []):
        if b.get("kind") not in ("targets", "selfeval"):
            from xltools.spec import SpecError
            raise SpecError(f"{path.name}：{b.get('id')} 的 kind 只能是 targets 或 selfeval")
        out.append(BlockTable(id=str(b["id"]), kind=b["kind"], title=str(b["title"]), form=str(b.get("form", "simple")),
                              number=str(b.get("number", "")), project_total=str(b.get("project_total", "")),
                              subject_col=str(b.get("subject_col", "")),
                              variants=tuple(str(v) for v in b.get("variants") or ())))
    return tuple(out)


def blocks_of(report) -> tuple[BlockTable, ...]:
    """The block tables of a report's set that its variant prints (宁夏 budgets have 表九, 上海/江苏 none)."""
    return tuple(b for b in blocks_for(report.set_id) if not b.variants or report.variant in b.variants)


# ---------------------------------------------------------------- numbers

def dec(raw) -> Decimal | None:
    """A number as printed: 3525, "3525万元", "85%" (→ 0.85), "—"/"" (→ None)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    text = str(raw).strip().replace(",", "").replace("万元", "").replace(" ", "")
    if text in ("", "—", "-", "——", "/"):
        return None
    pct = text.endswith("%")
    if pct:
        text = text[:-1]
    try:
        d = Decimal(text)
    except ArithmeticError:
        return None
    except Exception:
        return None
    return d.scaleb(-2) if pct else d       # "100%" → 1.00: the printed precision stays (±0.005)


def half_unit(d: Decimal | None, pct_printed: bool = False) -> Decimal:
    """Half the last printed digit: 258 → 0.5 (万元 printed whole), 218.07 → 0.005, "9.40" → 0.005, 0.85 (85%) → 0.005."""
    if d is None:
        return Decimal(0)
    exp = d.as_tuple().exponent
    exp = exp if isinstance(exp, int) else 0
    return Decimal(1).scaleb(min(exp, 0)) / 2


# ---------------------------------------------------------------- data folder

def load_blocks(folder: str | Path, report) -> None:
    """Read ``<ID>.yaml`` for every block table of the report's set into ``report.blocks``."""
    from xltools.read.errors import DataError
    from xltools.read.guard import load_yaml

    for bt in blocks_of(report):
        path = Path(folder) / f"{bt.id}.yaml"
        if not path.exists() and not path.is_symlink():
            continue
        doc = load_yaml(path, f"{bt.id}.yaml", error=DataError) or {}   # size-capped, aliases bounded
        if not isinstance(doc, dict):
            raise DataError(f"{path}：内容应为“projects: …”的字典，而不是列表或单个值")
        projects = []
        if not isinstance(doc.get("projects") or [], list):
            raise DataError(f"{path}：projects 应为项目的列表")
        for n, p in enumerate(doc.get("projects") or [], start=1):
            where = f"{path.name}:项目{n}"
            if not isinstance(p, dict) or not p.get("name"):
                raise DataError(f"{path} 第 {n} 个项目缺少 name（项目名称）")
            width = 4 if bt.kind == "targets" else 8
            inds = []
            for line in str(p.get("indicators") or "").splitlines():
                if not line.strip():
                    continue
                parts = [x.strip() for x in line.split("|")]
                if len(parts) > width:
                    raise DataError(f"{path} 项目“{p['name']}”的指标行栏数多于 {width}：{line}")
                inds.append(parts + [""] * (width - len(parts)))
            funds = {}
            if not isinstance(p.get("funds") or {}, dict):
                raise DataError(f"{path} 项目“{p['name']}”的 funds 应为“键: 金额”的字典")
            for k, v in (p.get("funds") or {}).items():
                funds[k] = [x for x in v] if isinstance(v, list) else v
            fields = {k: ("" if v is None else str(v)) for k, v in p.items()
                      if k not in ("name", "funds", "indicators")}
            projects.append(Project(name=str(p["name"]), fields=fields, funds=funds, indicators=inds, source=where))
        report.blocks[bt.id] = projects
