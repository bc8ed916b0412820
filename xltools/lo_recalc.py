"""Recalculate workbooks in LibreOffice headless and save the recalculated copies.

Run with the Python that has LibreOffice's UNO bridge (Debian: /usr/bin/python3 with python3-uno):

    /usr/bin/python3 -m xltools.lo_recalc OUT_DIR FILE.xlsx [FILE.xlsx …]
    /usr/bin/python3 xltools/lo_recalc.py OUT_DIR FILE.xlsx …

Also converts to PDF with ``--pdf``; ``--ops OPS.json`` ({file: [{"op": "insert_rows"|"delete_rows"|"set",
"sheet": …, "row": …, "cell": …, "value": …}]}) edits each file as a user would before recalculating. This file imports nothing from xltools so that it runs under the
system interpreter, which need not have xltools' dependencies.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid


def find_uno_python() -> str | None:
    """A Python interpreter with LibreOffice's UNO bridge, when LibreOffice (soffice) is installed."""
    import shutil

    if not shutil.which("soffice"):
        return None
    for py in ("/usr/bin/python3", "/usr/lib/libreoffice/program/python", shutil.which("python3"), sys.executable):
        if py and os.path.exists(py) and subprocess.run([py, "-c", "import uno"], capture_output=True).returncode == 0:
            return py
    return None


def _connect(pipe: str, proc, timeout: float = 60.0):
    import uno  # type: ignore
    from com.sun.star.connection import NoConnectException  # type: ignore

    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("LibreOffice 无法启动（soffice headless）")
            time.sleep(0.2)


def _prop(name, value):
    from com.sun.star.beans import PropertyValue  # type: ignore

    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _apply(doc, ops: list) -> None:
    """Edit a document as a user would in the spreadsheet: insert/delete rows, type values."""
    sheets = doc.Sheets
    for op in ops:
        sheet = sheets.getByName(op["sheet"])
        if sheet.isProtected():
            sheet.unprotect("")
        kind = op["op"]
        if kind == "insert_rows":
            sheet.Rows.insertByIndex(op["row"], op.get("count", 1))
        elif kind == "delete_rows":
            sheet.Rows.removeByIndex(op["row"], op.get("count", 1))
        elif kind == "set":
            cell = sheet.getCellRangeByName(op["cell"])
            v = op["value"]
            if isinstance(v, (int, float)):
                cell.setValue(v)
            elif isinstance(v, str) and v.startswith("="):
                cell.setFormula(v)
            else:
                cell.setString(v)
        else:
            raise ValueError(f"unknown op {kind}")


def recalc(out_dir: str, files: list[str], pdf: bool = False, ops: dict | None = None) -> list[str]:
    import uno  # type: ignore

    pipe = "xltools_" + uuid.uuid4().hex[:8]
    profile = tempfile.mkdtemp(prefix="xltools-lo-")
    proc = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
         f"-env:UserInstallation=file://{profile}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outputs = []
    try:
        ctx = _connect(pipe, proc)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        os.makedirs(out_dir, exist_ok=True)
        for f in files:
            url = uno.systemPathToFileUrl(os.path.abspath(f))
            doc = desktop.loadComponentFromURL(url, "_blank", 0, (_prop("Hidden", True),))
            try:
                if ops and f in ops:
                    _apply(doc, ops[f])
                doc.calculateAll()
                base = os.path.splitext(os.path.basename(f))[0]
                if pdf:
                    target = os.path.join(out_dir, base + ".pdf")
                    doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)),
                                   (_prop("FilterName", "calc_pdf_Export"),))
                else:
                    target = os.path.join(out_dir, base + ".xlsx")
                    doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)),
                                   (_prop("FilterName", "Calc MS Excel 2007 XML"),))
                outputs.append(target)
            finally:
                doc.close(True)
    finally:
        try:
            desktop.terminate()  # noqa: F821 - may be unbound if connecting failed
        except Exception:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return outputs


def main(argv: list[str]) -> int:
    import json

    pdf = "--pdf" in argv
    ops = None
    if "--ops" in argv:
        i = argv.index("--ops")
        with open(argv[i + 1], encoding="utf-8") as fh:
            ops = json.load(fh)
        argv = argv[:i] + argv[i + 2:]
    args = [a for a in argv if a != "--pdf"]
    if len(args) < 2:
        print(__doc__)
        return 2
    for p in recalc(args[0], args[1:], pdf=pdf, ops=ops):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
