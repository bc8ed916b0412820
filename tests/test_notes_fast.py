"""Rule N-10 without the whole 情况说明: ``notes_findings`` renders only the sections that can show an empty
主要原因 (``engine.missing_with``); it must give exactly what the whole rendered narrative gives
(``notes_findings_rendered``, the reference).

Cases: every sample workbook and data folder, the generated workbooks of the samples and the clean unit, each
read under every narrative variant of its set, and edits of each: every reason typed removed one at a time, every
reason the 说明事项 sheet declares left empty one at a time, all of them at once, every prior / budget figure
removed, changed or set to the figure of the tables it is compared with (a comparison then starts or stops
needing a reason), a table value changed, and nothing typed at all.
"""
from __future__ import annotations

import copy
from collections import Counter

import pytest

from conftest import SAMPLES
from test_check_golden import _data_folders, _edits, _sample_workbooks
from xltools.narrative import engine
from xltools.narrative.check import REASON, notes_findings, notes_findings_rendered
from xltools.narrative.inputs import note_items
from xltools.narrative.sets import collect_facts, missing, render
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.spec import load_set


def _more_edits(name: str, rep) -> dict:
    """Edits beyond the golden record's: declared reasons emptied, figures set equal to the tables'."""
    out = {}
    notes = rep.notes or {}
    for it in note_items(rep.set_id, rep):
        if it.key.startswith(REASON) and it.key in notes:
            continue                                   # removed by _edits already
        if it.key.startswith(REASON) and it.default is not None:
            r2 = copy.deepcopy(rep)
            r2.notes = {**notes, it.key: ""}            # a declared default typed away
            out[f"{name}:blank:{it.key}"] = r2
    try:
        facts = collect_facts(rep)
    except Exception:
        facts = {}
    for key in [k for k in notes if k.startswith(("prior.", "budget."))]:
        fact = facts.get(key.split(".", 1)[1])
        if fact is None or fact.kind != "amount":
            continue
        r2 = copy.deepcopy(rep)
        r2.notes[key] = f"{fact.value}元"                # equal to the tables: no reason needed any more
        out[f"{name}:equal:{key}"] = r2
        r3 = copy.deepcopy(rep)
        r3.notes[key] = f"{fact.value + 1}元"            # different again, its reasons removed
        for k in [k for k in notes if k.startswith(f"reason.{key.split('.', 1)[1]}.")]:
            del r3.notes[k]
        out[f"{name}:differ:{key}"] = r3
    # only one reason typed, nothing else: 说明事项 started, every other reason empty
    reasons = [k for k in notes if k.startswith(REASON)]
    if reasons:
        r4 = copy.deepcopy(rep)
        r4.notes = {k: v for k, v in notes.items() if k.startswith("_") or k == reasons[0]}
        out[f"{name}:only:{reasons[0]}"] = r4
    return out


def _reports() -> dict:
    base = {}
    for path in _sample_workbooks():
        base[f"xlsx:{path.parent.name}/{path.name}"] = read_workbook(path)
    for folder in _data_folders():
        base[f"data:{folder.name}"] = load_data(folder)
    out = {}
    for name, rep in base.items():
        # the report's own wording, and (data folders) every other wording of its set: other templates
        seen = {tuple(engine.template_dirs(rep.set_id, rep.variant))}
        variants = [rep.variant]
        if name.startswith("data:"):
            for vid in load_set(rep.set_id).variants:
                dirs = tuple(engine.template_dirs(rep.set_id, vid))
                if dirs not in seen:
                    seen.add(dirs)
                    variants.append(vid)
        for vid in variants:
            r = copy.copy(rep)
            r.variant = vid
            vname = f"{name}@{vid or '-'}"
            out[vname] = r
            out.update(_edits(vname, r))
            out.update(_more_edits(vname, r))
    return out


@pytest.fixture(scope="module")
def reports() -> dict:
    return _reports()


def test_fast_n10_equals_the_full_render(reports, monkeypatch):
    """Item by item and finding by finding, in the same order, on every case; most sections left unrendered."""
    count = Counter()
    real_render, real_files = engine._Run.render, engine._section_files

    def render_counted(self, name):
        count["rendered"] += 1
        return real_render(self, name)

    def files_counted(dirs):
        files = real_files(dirs)
        count["sections"] += len(files)
        return files

    for name, rep in reports.items():
        want = [(k, v) for k, v in render(rep).missing if k.startswith(REASON)]   # every case renders
        with monkeypatch.context() as m:
            m.setattr(engine._Run, "render", render_counted)
            m.setattr(engine, "_section_files", files_counted)
            got = missing(rep, REASON)
            fast = notes_findings(rep)
        assert got == want, name
        assert fast == notes_findings_rendered(rep), name
        assert not [f for f in fast if "无法生成" in f.message], name
        count["cases"] += 1
        count["asked"] += bool(want)
        count["findings"] += bool(fast)
        count[rep.set_id] += 1
    # every set, reasons asked for often, and the fast path leaves most sections unrendered
    assert count["cases"] > 1000 and count["asked"] > 300 and count["findings"] > 300, count
    assert count["final_accounts"] and count["budget"] and count["performance"], count
    assert count["rendered"] < count["sections"] / 2, count


def test_a_set_without_narrative_templates_asks_for_nothing():
    """绩效 workbooks have no 情况说明 templates: something typed into 说明事项 gives no N-10 (and no error)."""
    rep = read_workbook(SAMPLES / "ningxia-sbj-2022-selfeval" / "ningxia-sbj-2022-selfeval.xlsx")
    rep.notes = {**(rep.notes or {}), "unit.short": "我局"}
    assert notes_findings(rep) == notes_findings_rendered(rep) == []
    assert missing(rep, REASON) == [] and render(rep).paragraphs == []


def test_a_reason_asked_with_a_computed_key_is_found():
    """上海's 按项 wording asks 说明('reason.gpb.' ~ c.编码 ~ '.budget'): a key known only while rendering."""
    rep = load_data(SAMPLES / "shanghai-putuo-finance-2024-final")
    rep.notes = {**{k: v for k, v in rep.notes.items() if not k.startswith("reason.gpb.2")},
                 "narrative.gpb_detail": "项"}
    items = [k for k in collect_facts(rep) if k.startswith("gpb.") and len(k) == 11]
    assert items
    for code in items[:3]:
        rep.notes[f"budget.{code}"] = "1.00万元"
    want = [(k, v) for k, v in render(rep).missing if k.startswith(REASON)]
    assert [k for k, _ in want if k.startswith("reason.gpb.") and len(k) == 25]   # reason.gpb.<7 digits>.budget
    assert missing(rep, REASON) == want


def _rendered(monkeypatch) -> list:
    done = []
    real = engine._Run.render
    monkeypatch.setattr(engine._Run, "render", lambda self, name: done.append(name) or real(self, name))
    return done


def test_only_the_sections_that_can_show_an_empty_reason_are_rendered(monkeypatch):
    rep = load_data(SAMPLES / "ningxia-sbj-2022-final")
    done = _rendered(monkeypatch)
    assert notes_findings(rep) == []
    assert 0 < len(done) == len(set(done)) < 10         # some sections, each once, not all ten
    # every reason of the 说明事项 sheet typed: nothing to render at all
    rep.notes.update({it.key: "原因" for it in note_items(rep.set_id, rep) if it.key.startswith(REASON)})
    done.clear()
    assert notes_findings(rep) == []
    assert done == []
    del rep.notes["reason.run_cost.prior"]
    got = notes_findings(rep)
    assert [(f.cell, f.message) for f in got] == [("说明事项:reason.run_cost.prior",
                                                   "情况说明需要的说明事项未填写：机关运行经费增减变化的主要原因")]
    assert done == ["10_其他重要事项.j2"]    # the one section that asks for it (说明('reason.run_cost.prior'))
    assert got == notes_findings_rendered(rep)


def test_an_empty_reason_the_walk_cannot_place_renders_every_section(monkeypatch):
    """A context entry of a kind the walk does not enter: the fast path renders everything, as the full render."""
    import types

    from xltools.narrative import final, sets

    rep = load_data(SAMPLES / "ningxia-sbj-2022-final")
    rep.notes = {k: v for k, v in rep.notes.items() if k != "reason.sangong.prior"}

    def context(report, unit, rec):
        ctx = final.build_context(report, unit, rec)
        ctx["三公上年原因"] = types.SimpleNamespace(text=ctx["三公上年原因"])  # not a Missing, Item, list or dict
        return ctx

    nset = sets.NarrativeSet("final_accounts", final.TITLE, final.collect_facts, context)
    monkeypatch.setattr(sets, "for_report", lambda report: nset)
    done = _rendered(monkeypatch)
    assert missing(rep, REASON) == []    # no template prints the wrapped item: nothing is recorded …
    assert len(done) == len(engine._Run(rep, None, nset).sections)      # … but every section was rendered


def test_what_a_section_reads_is_found_in_its_syntax_tree():
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(loader=jinja2.DictLoader({
        "literal": "{% if a is 不同于 b %}{{ 说明('reason.x.prior')|句 }}{% endif %}",
        "computed": "{% for c in 按类 %}{{ 说明('reason.gpb.' ~ c.编码 ~ '.budget') }}{% endfor %}",
        "passed": "{% set f = 说明 %}{{ f('reason.x.prior') }}",
        "filter": "{{ 原因|填写('reason.x.prior') }}",
        "mapped": "{{ 原因们|map('填写')|join }}",
        "method": "{{ 表.get('reason.x.prior') }}",
        "include": "{% include 'literal' %}",
        "loop": "{% for e in 经济分类 %}{{ e.预算原因 }}{% endfor %}",
    }))
    env.filters.update({"句": str, "填写": str})
    env.tests["不同于"] = lambda a, b: a != b
    uses = {name: engine._uses(env, name) for name in env.loader.list_templates()}
    assert uses["literal"].calls == (("说明", ("reason.x.prior",), ()),) and not uses["literal"].unknown & {"说明"}
    assert uses["literal"].names == {"a", "b", "说明"}
    assert "说明" in uses["computed"].unknown and not uses["computed"].calls
    assert "说明" in uses["passed"].unknown
    assert uses["filter"].key_filters and uses["mapped"].key_filters and not uses["literal"].key_filters
    assert uses["method"].opaque and uses["include"].opaque and not uses["loop"].opaque
    assert uses["loop"].names == {"经济分类"}
    assert engine._uses(env, "loop") is uses["loop"]          # parsed once per template version


def test_what_a_section_reads_is_kept_beside_its_compiled_code(tmp_path, monkeypatch):
    """A new process does not parse the sections again for N-10: what `_uses` found is kept in jinja2's cache folder
    (keyed by the template's text) and read back equal — for every section of every set's narrative folders; a
    damaged file is parsed again; another text is another file."""
    import jinja2

    bcc = jinja2.FileSystemBytecodeCache(str(tmp_path))
    monkeypatch.setattr(engine, "_BCC", [bcc])
    monkeypatch.setattr(engine, "_USES", {})
    seen = 0
    for set_id in ("final_accounts", "budget"):
        dirs = engine.template_dirs(set_id, None)
        env = engine._environment(tuple(str(d) for d in dirs))
        for name in engine._section_files(dirs):
            source, filename, _ = env.loader.get_source(env, name)
            parsed = engine._parse_uses(env, name, source, filename)
            assert engine._uses(env, name) == parsed
            assert engine._stored_uses(source) == parsed          # kept, and read back equal
            seen += 1
    files = sorted(tmp_path.glob("xltools-uses-*.json"))
    assert seen >= 15 and len(files) == seen
    assert engine._stored_uses("{{ x }}") is None                 # another text: not stored
    for f in files:
        f.write_text("{not json", encoding="utf-8")
    engine._USES.clear()
    env = engine._environment(tuple(str(d) for d in engine.template_dirs("final_accounts", None)))
    for name in engine._section_files(engine.template_dirs("final_accounts", None)):
        source, filename, _ = env.loader.get_source(env, name)
        assert engine._uses(env, name) == engine._parse_uses(env, name, source, filename)   # damaged: parsed again
