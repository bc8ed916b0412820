"""Minimal [MS-CFB] compound file writer (version 3, 512-byte sectors).

Only what a VBA project (``vbaProject.bin``) needs: a tree of storages and streams
written once, in one go. Streams smaller than 4096 bytes go to the mini stream
(64-byte mini sectors), larger ones to regular sectors. Siblings under each storage
form a balanced binary search tree coloured as a valid red-black tree. Timestamps
and CLSIDs are zero, so the output is a pure function of the input.

No PyPI package that we could depend on writes *new* compound files (olefile and
compoundfiles read; the few writers are tiny, recent or AGPL), hence this module.
It is read back by olefile in the tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Mapping

__all__ = ["write_compound_file", "entry_name_key"]

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
ENTRIES_PER_SECTOR = SECTOR // 128
IDS_PER_SECTOR = SECTOR // 4
HEADER_DIFAT = 109

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

_STORAGE, _STREAM, _ROOT = 1, 2, 5
_RED, _BLACK = 0, 1
_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")


def entry_name_key(name: str) -> tuple[int, str]:
    """Sibling order of [MS-CFB] 2.6.4: shorter names first, then by upper-cased name."""
    return (len(name.encode("utf-16-le")), name.upper())


@dataclass
class _Node:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, "_Node"] = field(default_factory=dict)
    sid: int = -1
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = _BLACK
    start: int = ENDOFCHAIN


def _check_name(name: str) -> None:
    if not name or len(name) > 31 or any(c in name for c in "/\\:!"):
        raise ValueError(f"invalid compound file entry name: {name!r}")


def _build_tree(streams: Mapping[str, bytes]) -> _Node:
    root = _Node("Root Entry", _ROOT)
    for path, data in streams.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            _check_name(part)
            nxt = node.children.get(part)
            if nxt is None:
                nxt = node.children[part] = _Node(part, _STORAGE)
            elif nxt.kind != _STORAGE:
                raise ValueError(f"{path!r}: {part!r} is a stream, not a storage")
            node = nxt
        leaf = parts[-1]
        _check_name(leaf)
        if leaf in node.children:
            raise ValueError(f"duplicate compound file entry: {path!r}")
        node.children[leaf] = _Node(leaf, _STREAM, data=bytes(data))
    return root


def _link_siblings(nodes: list[_Node], depth: int, red_depth: int | None) -> int:
    """Balanced BST over sorted ``nodes``; returns the root sid.

    Midpoint recursion puts every empty child slot at depth h or h+1, so colouring the
    nodes on the deepest level red (when that level is not full) gives every path the
    same number of black nodes: a valid red-black tree.
    """
    if not nodes:
        return NOSTREAM
    mid = len(nodes) // 2
    node = nodes[mid]
    node.color = _RED if depth == red_depth else _BLACK
    node.left = _link_siblings(nodes[:mid], depth + 1, red_depth)
    node.right = _link_siblings(nodes[mid + 1 :], depth + 1, red_depth)
    return node.sid


def _tree_height(n: int) -> int:
    """Number of levels of a midpoint-balanced tree of n nodes."""
    return n.bit_length()


def _assign(root: _Node) -> list[_Node]:
    order: list[_Node] = []

    def visit(node: _Node) -> None:
        node.sid = len(order)
        order.append(node)
        for child in sorted(node.children.values(), key=lambda n: entry_name_key(n.name)):
            visit(child)

    visit(root)

    for node in order:
        if not node.children:
            continue
        kids = sorted(node.children.values(), key=lambda n: entry_name_key(n.name))
        levels = _tree_height(len(kids))
        full = len(kids) == (1 << levels) - 1
        node.child = _link_siblings(kids, 0, None if full else levels - 1)
    root.color = _BLACK
    return order


def _dir_entry(node: _Node, size: int) -> bytes:
    name16 = node.name.encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name16 + b"\0\0",
        len(name16) + 2,
        node.kind,
        node.color,
        node.left,
        node.right,
        node.child,
        b"\0" * 16,
        0,
        0,
        0,
        node.start,
        size,
    )


_UNUSED_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, b"\0" * 16, 0, 0, 0, 0, 0
)


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(count):
        fat[first + i] = first + i + 1 if i + 1 < count else ENDOFCHAIN


def _sectors(nbytes: int, unit: int) -> int:
    return -(-nbytes // unit)


def write_compound_file(streams: Mapping[str, bytes]) -> bytes:
    """Return the bytes of a compound file holding ``streams``.

    ``streams`` maps slash-separated paths (``"VBA/dir"``) to stream contents; the
    storages on the way are created. Entry names are at most 31 characters.
    """
    root = _build_tree(streams)
    order = _assign(root)
    stream_nodes = [n for n in order if n.kind == _STREAM]

    # Mini stream: small streams, each on whole 64-byte mini sectors, back to back.
    mini_fat: list[int] = []
    mini = bytearray()
    for node in stream_nodes:
        if 0 < len(node.data) < MINI_CUTOFF:
            count = _sectors(len(node.data), MINI_SECTOR)
            node.start = len(mini_fat)
            mini_fat.extend([0] * count)
            _chain(mini_fat, node.start, count)
            mini += node.data + b"\0" * (count * MINI_SECTOR - len(node.data))
    big = [n for n in stream_nodes if len(n.data) >= MINI_CUTOFF]

    n_dir = _sectors(len(order), ENTRIES_PER_SECTOR)
    n_minifat = _sectors(len(mini_fat) * 4, SECTOR)
    n_ministream = _sectors(len(mini), SECTOR)
    n_big = sum(_sectors(len(n.data), SECTOR) for n in big)
    n_data = n_dir + n_minifat + n_ministream + n_big
    n_fat = 1
    while n_fat * IDS_PER_SECTOR < n_fat + n_data:
        n_fat += 1
    if n_fat > HEADER_DIFAT:
        raise ValueError("compound file too large for a header-only DIFAT (~7 MB)")

    total = n_fat + n_data
    fat = [FREESECT] * (n_fat * IDS_PER_SECTOR)
    for i in range(n_fat):
        fat[i] = FATSECT
    pos = n_fat
    dir_start = pos
    _chain(fat, pos, n_dir)
    pos += n_dir
    minifat_start = pos if n_minifat else ENDOFCHAIN
    _chain(fat, pos, n_minifat)
    pos += n_minifat
    root.start = pos if n_ministream else ENDOFCHAIN
    _chain(fat, pos, n_ministream)
    pos += n_ministream
    for node in big:
        count = _sectors(len(node.data), SECTOR)
        node.start = pos
        _chain(fat, pos, count)
        pos += count
    assert pos == total

    header = bytearray(SECTOR)
    struct.pack_into(
        "<8s16sHHHHH6sIIIIIIIII",
        header,
        0,
        _SIGNATURE,
        b"\0" * 16,
        0x003E,  # minor version
        0x0003,  # major version 3
        0xFFFE,  # little-endian byte order mark
        9,  # sector shift: 512
        6,  # mini sector shift: 64
        b"\0" * 6,
        0,  # number of directory sectors: MUST be 0 in version 3
        n_fat,
        dir_start,
        0,  # transaction signature
        MINI_CUTOFF,
        minifat_start,
        n_minifat,
        ENDOFCHAIN,  # first DIFAT sector: none
        0,  # number of DIFAT sectors
    )
    difat = list(range(n_fat)) + [FREESECT] * (HEADER_DIFAT - n_fat)
    struct.pack_into("<109I", header, 76, *difat)

    out = bytearray(header)
    out += struct.pack(f"<{len(fat)}I", *fat)

    dir_bytes = bytearray()
    for node in order:
        if node.kind == _ROOT:
            size = len(mini)
        elif node.kind == _STREAM:
            size = len(node.data)
        else:
            size = 0
        if node.kind == _STORAGE:
            node.start = 0
        dir_bytes += _dir_entry(node, size)
    while len(dir_bytes) < n_dir * SECTOR:
        dir_bytes += _UNUSED_ENTRY
    out += dir_bytes

    if n_minifat:
        mf = mini_fat + [FREESECT] * (n_minifat * IDS_PER_SECTOR - len(mini_fat))
        out += struct.pack(f"<{len(mf)}I", *mf)
    out += mini + b"\0" * (n_ministream * SECTOR - len(mini))
    for node in big:
        pad = _sectors(len(node.data), SECTOR) * SECTOR - len(node.data)
        out += node.data + b"\0" * pad
    assert len(out) == SECTOR * (1 + total)
    return bytes(out)
