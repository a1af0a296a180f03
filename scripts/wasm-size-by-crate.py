#!/usr/bin/env python3
"""Code bytes per crate in a component's core module(s), from the wasm `name` section.

Build without stripping first (the release profile strips names), e.g.
  CARGO_PROFILE_RELEASE_STRIP=false cargo build --target wasm32-wasip2 --release -p form
usage: wasm-size-by-crate.py FILE.wasm [TOP]
"""
import re
import sys
from collections import Counter


def leb(data, i):
    result = shift = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, i


def sections(data, start, end):
    i = start
    while i < end:
        sid = data[i]
        size, i = leb(data, i + 1)
        yield sid, i, i + size
        i += size


def name(data, i):
    n, i = leb(data, i)
    return data[i:i + n].decode("utf-8", "replace"), i + n


def core_modules(data):
    """Every core module inside a component (section id 1), recursing into nested components (id 4)."""
    if data[4:8] == b"\x01\x00\x00\x00":  # a core module itself
        yield data
        return
    for sid, s, e in sections(data, 8, len(data)):
        if sid == 1:
            yield data[s:e]
        elif sid == 4:
            yield from core_modules(data[s:e])


def crate_of(symbol):
    m = re.match(r"_ZN(\d+)", symbol)
    if m:
        n = int(m.group(1))
        return symbol[len(m.group(0)):len(m.group(0)) + n]
    m = re.match(r"_R\w*?C(?:s\w*?_)?(\d+)", symbol)
    if m:
        n = int(m.group(1))
        rest = symbol[m.end():]
        return rest[:n].lstrip("_")
    if symbol.startswith("<"):
        inner = re.match(r"<(?:&|&mut |dyn )?([A-Za-z_][A-Za-z0-9_]*)::", symbol)
        if inner:
            return inner.group(1)
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", symbol)
    return m.group(1) if m else "(other: " + symbol[:30] + ")"


def analyse(module):
    imported_funcs = 0
    bodies = []
    names = {}
    data_bytes = 0
    for sid, s, e in sections(module, 8, len(module)):
        if sid == 2:  # imports
            count, i = leb(module, s)
            for _ in range(count):
                _, i = name(module, i)
                _, i = name(module, i)
                kind = module[i]
                i += 1
                if kind == 0:
                    _, i = leb(module, i)
                    imported_funcs += 1
                elif kind == 1:
                    i += 1
                    flags = module[i]; i += 1
                    _, i = leb(module, i)
                    if flags & 1:
                        _, i = leb(module, i)
                elif kind == 2:
                    flags = module[i]; i += 1
                    _, i = leb(module, i)
                    if flags & 1:
                        _, i = leb(module, i)
                elif kind == 3:
                    i += 2
                elif kind == 4:
                    i += 1
                    _, i = leb(module, i)
        elif sid == 10:
            count, i = leb(module, s)
            for _ in range(count):
                size, j = leb(module, i)
                bodies.append(size + (j - i))
                i = j + size
        elif sid == 11:
            data_bytes += e - s
        elif sid == 0:
            n, i = name(module, s)
            if n == "name":
                while i < e:
                    sub = module[i]
                    size, i = leb(module, i + 1)
                    if sub == 1:
                        count, k = leb(module, i)
                        for _ in range(count):
                            idx, k = leb(module, k)
                            fname, k = name(module, k)
                            names[idx] = fname
                    i += size
    by_crate = Counter()
    for n, size in enumerate(bodies):
        by_crate[crate_of(names.get(imported_funcs + n, "?"))] += size
    return by_crate, sum(bodies), data_bytes


data = open(sys.argv[1], "rb").read()
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
total = Counter()
code = data_total = 0
for module in core_modules(data):
    by_crate, c, d = analyse(module)
    total.update(by_crate)
    code += c
    data_total += d
print(f"file {len(data):,} bytes; code {code:,}; data segments {data_total:,}")
print("| crate | code bytes | share |\n|---|---|---|")
for crate, size in total.most_common(top):
    print(f"| {crate} | {size:,} | {size / code:.1%} |")
