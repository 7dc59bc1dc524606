#!/usr/bin/python3
"""Checks the Markdown files of the repository (make test runs it):
  - no line longer than 160 characters (tables included: the README and docs are read in a terminal too);
  - every relative link points at a file that exists;
  - a link to a line (`file.cpp#L42`) lands on a line that exists, and when the link text is code
    (`` [`Trainer::run`](...#L81) ``) on a line that contains the name it shows (its last `::` part),
    so that docs/walkthrough.md's links follow the code or fail loudly.
Exit 1 with one line per problem.

  tools/check_docs.py --fix   re-points each code-named line link that no longer lands on its name
                              to the name's definition in the same file (a line where the name is
                              followed by "(" or "{" and which is not a call ending in ";"), else to
                              its nearest mention; then checks as above."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINE = 160
LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def markdown_files():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return [f for f in out if "node_modules" not in f and os.path.exists(os.path.join(ROOT, f))]


def relocate(lines, name, old, qualified=None):
    """The line number (1-based) a link named `name` should point at, or None. A qualified name
    (`Loader::next`) is looked for as written first, so that one of several `forward`s is not taken for
    another."""
    if qualified and "::" in qualified:
        hits = [i for i, l in enumerate(lines, 1) if qualified + "(" in l and not l.rstrip().endswith(";")]
        if hits:
            return min(hits, key=lambda i: abs(i - old))
    word = re.compile(r"(?<![\w])" + re.escape(name) + r"(?![\w])")
    hits = [i for i, l in enumerate(lines, 1) if word.search(l) and not l.lstrip().startswith("//")]
    defs = [i for i in hits if re.search(re.escape(name) + r"\s*[({]", lines[i - 1])
            and not lines[i - 1].rstrip().endswith(";") and not lines[i - 1].lstrip().startswith("return")]
    pool = defs or hits
    return min(pool, key=lambda i: abs(i - old)) if pool else None


def check(path, fix=False):
    problems = []
    folder = os.path.dirname(os.path.join(ROOT, path))
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().split("\n")
    fixed = 0
    for n, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            problems.append(f"{path}:{n}: line of {len(line)} characters (at most {MAX_LINE})")
        for text, target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor in the same file
            file, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(folder, file))
            if not os.path.exists(full):
                problems.append(f"{path}:{n}: link to {target}: no such file")
                continue
            m = re.fullmatch(r"L(\d+)", anchor)
            if not m:
                continue
            with open(full, encoding="utf-8", errors="replace") as g:
                target_lines = g.read().split("\n")
            k = int(m.group(1))
            code = re.fullmatch(r"`([^`]+)`", text)
            name = re.split(r"::|\.", code.group(1).rstrip("()"))[-1] if code else None
            if fix and name and (k > len(target_lines) or name not in target_lines[k - 1]):
                k2 = relocate(target_lines, name, k, code.group(1).rstrip("()"))
                if k2:
                    new = f"{file}#L{k2}"
                    lines[n - 1] = lines[n - 1].replace(f"[{text}]({target})", f"[{text}]({new})", 1)
                    fixed += 1
                    k = k2
            if k > len(target_lines):
                problems.append(f"{path}:{n}: link to {target}: the file has {len(target_lines)} lines")
                continue
            if name:
                if name not in target_lines[k - 1]:
                    problems.append(f"{path}:{n}: link {text} -> {target}: line {k} does not contain '{name}' "
                                    f"(it reads: {target_lines[k - 1].strip()[:80]!r})")
    if fixed:
        with open(os.path.join(ROOT, path), "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        print(f"check_docs: {path}: {fixed} line links re-pointed", file=sys.stderr)
    return problems


def main():
    fix = "--fix" in sys.argv[1:]
    problems = [p for f in markdown_files() for p in check(f, fix)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_docs: {len(markdown_files())} Markdown files, links and line lengths fine")


if __name__ == "__main__":
    main()
