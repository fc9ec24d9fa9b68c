#!/usr/bin/env python3
"""Structural rules of lib/ and cmd/ that a compiler does not check.

  check-code.py functions [MAX]   every function body is at most MAX lines
                                  (default 60), counted from the line of its
                                  opening brace to the line of its closing one
  check-code.py cycles            no include cycle among lib/ modules (a
                                  module is a folder of lib/, or a file at the
                                  top of lib/)
  check-code.py calls [OBJDIR]    no call circle among lib/ files: read from
                                  the objects in OBJDIR (default build/lib)
                                  with nm, A -> B when A calls a function
                                  defined in B
  check-code.py prints            no cs_error() in lib/: errors are values

Prints one line per offence and exits 1 when there is any.
"""
import os
import re
import sys

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def sources(dirs, exts):
    for d in dirs:
        for root, _, files in os.walk(os.path.join(TOP, d)):
            for f in sorted(files):
                if f.endswith(exts):
                    yield os.path.relpath(os.path.join(root, f), TOP)


def strip(text):
    """Blank out comments, strings and character literals, keeping lines."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    """(name, first line, line count) of each function defined in PATH."""
    text = strip(open(os.path.join(TOP, path), encoding="utf-8").read())
    depth, start, name = 0, 0, None
    head = re.compile(r"([A-Za-z_]\w*)\s*\([^;{}]*\)\s*$")
    for m in re.finditer(r"[{}]", text):
        if m.group() == "{":
            if depth == 0:
                before = text[max(0, m.start() - 400):m.start()]
                h = head.search(before)
                name = h.group(1) if h and not re.search(
                    r"=\s*$|\b(struct|enum|union)\s+\w*\s*$", before) else None
                start = text.count("\n", 0, m.start()) + 1
            depth += 1
        else:
            depth -= 1
            if depth == 0 and name:
                end = text.count("\n", 0, m.start()) + 1
                yield name, start, end - start + 1
                name = None


def check_functions(limit):
    bad = 0
    for path in sources(["lib", "cmd"], (".c",)):
        for name, line, count in functions(path):
            if count > limit:
                print(f"{path}:{line}: {name}() is {count} lines "
                      f"(at most {limit})")
                bad += 1
    return bad


def module(path):
    parts = path.split(os.sep)
    # lib/x.c -> x; lib/hls/part.c -> hls
    return parts[1] if len(parts) > 2 else os.path.splitext(parts[1])[0]


def check_cycles():
    graph = {}
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    for path in sources(["lib"], (".c", ".h")):
        src = module(path)
        for target in inc.findall(open(os.path.join(TOP, path)).read()):
            full = os.path.join("lib", target)
            if not os.path.exists(os.path.join(TOP, full)):
                continue
            dst = module(full)
            if dst != src:
                graph.setdefault(src, set()).add(dst)
    cycles = find_cycles(graph)
    for c in cycles:
        print("include cycle: " + " -> ".join(c))
    return len(cycles)


def symbols(objdir):
    """{object: (defined, used)} for every object below OBJDIR."""
    import subprocess
    out = {}
    for root, _, files in os.walk(os.path.join(TOP, objdir)):
        for f in sorted(files):
            if not f.endswith(".o"):
                continue
            path = os.path.join(root, f)
            nm = subprocess.run(["nm", path], capture_output=True, text=True,
                                check=True).stdout
            defined, used = set(), set()
            for line in nm.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in "TDBR":
                    defined.add(parts[2])
                elif len(parts) == 2 and parts[0] == "U":
                    used.add(parts[1])
            out[os.path.relpath(path, os.path.join(TOP, objdir))] = (defined,
                                                                      used)
    return out


def find_cycles(graph):
    """Each cycle of GRAPH once, as a list of nodes."""
    found, seen, stack = [], {}, []

    def visit(m):
        seen[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if seen.get(d) == 1:
                found.append(stack[stack.index(d):] + [d])
            elif d not in seen:
                visit(d)
        stack.pop()
        seen[m] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m)
    return found


def check_calls(objdir):
    syms = symbols(objdir)
    owner = {s: o for o, (d, _) in syms.items() for s in d}
    graph = {}
    for o, (_, used) in syms.items():
        for s in used:
            if s in owner and owner[s] != o:
                graph.setdefault(o, set()).add(owner[s])
    cycles = find_cycles(graph)
    for c in cycles:
        print("call circle: " + " -> ".join(x[:-2] + ".c" for x in c))
    return len(cycles)


def check_prints():
    bad = 0
    call = re.compile(r"\bcs_error\s*\(")
    for path in sources(["lib"], (".c", ".h")):
        text = strip(open(os.path.join(TOP, path)).read())
        for i, line in enumerate(text.split("\n"), 1):
            if call.search(line) and "#define" not in line:
                print(f"{path}:{i}: cs_error() in lib/: return the error")
                bad += 1
    return bad


def main(argv):
    what = argv[1] if len(argv) > 1 else ""
    if what == "functions":
        bad = check_functions(int(argv[2]) if len(argv) > 2 else 60)
    elif what == "cycles":
        bad = check_cycles()
    elif what == "calls":
        bad = check_calls(argv[2] if len(argv) > 2 else "build/lib")
    elif what == "prints":
        bad = check_prints()
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
