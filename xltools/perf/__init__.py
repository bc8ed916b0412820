"""Block-structured 绩效 tables: 项目支出绩效目标表 (one block per project: funds, 年度总体目标, 三级指标 with 指标值)
and 项目支出绩效自评表 (funds with 执行率/得分, 指标 with 分值/得分, 总分, 等级).

They do not fit the panel/row spec (rows are text indicators, one block per project), so they have their own
small data model, builder, reader and rules — declared per set in ``templates/<set>/blocks.yaml`` — and plug
into the common machinery at four points:

* ``load_blocks(folder, report)``   data folder → ``report.blocks`` (called by xltools.read.datafile)
* ``write_sheets(wb, fm, report, tset, variant)``   an ``extra_sheets`` hook of the builder (formulas with cached values)
* ``read_blocks(path, report)``     workbook → ``report.blocks`` (calamine values)
* ``block_findings(report)``        rules → xltools.rules.engine.Finding records (called by check_report)

Data files: ``<ID>.yaml`` in the data folder (ID from blocks.yaml), see samples/ningxia-sbj-2025-targets.
Money is Decimal (万元). Rule codes: P-<ID>-nn (error), W-<ID>-nn (warning), X-<ID>-nn (against the tables).
"""
from __future__ import annotations

from xltools.perf.blocks import BlockTable, Project, blocks_for, blocks_of, dec, half_unit, load_blocks
from xltools.perf.rules import block_findings
from xltools.perf.sheets import read_blocks, write_sheets

__all__ = ["BlockTable", "Project", "blocks_for", "blocks_of", "load_blocks", "write_sheets", "read_blocks", "block_findings",
           "dec", "half_unit"]
