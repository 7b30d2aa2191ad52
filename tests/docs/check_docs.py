#!/usr/bin/env python3
"""check_docs.py - the repository cites only itself, and docs/protocol.md
   has what the code and the docs cite.

   Fails when a file of the repository (code, docs, scripts; not a build
   tree) cites a section sign or points outside the repository; when a
   citation docs/protocol.md#<anchor>, or a link to an anchor of that page,
   names an anchor the page does not have; and when a command of
   include/checkout/protocol.h or an event topic has no page in docs/messages/.

   Usage: check_docs.py [SOURCE_DIR]   (default: CK_SOURCE_DIR, or the
   directory two levels above this file)
"""
import os
import re
import subprocess
import sys

#  Spelt so that this file does not match itself
SECTION_SIGN = "\u00a7"
OUTSIDE = ["../" + "shared", "/" + "work/"]

SKIP_DIRS = {".git", "__pycache__", "node_modules", ".venv", "venv"}


def tracked_files(root):
    """The files git tracks or would track (not ignored), or None outside git."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {os.path.normpath(p) for p in out.decode("utf-8", "replace").split("\0") if p}


def source_files(root):
    """Every text file of the repository, as (relative path, text).  In a git
    checkout, what it ignores (a run's data/, logs) is not the repository's."""
    tracked = tracked_files(root)
    for path, text in walked_files(root):
        if tracked is None or path in tracked:
            yield path, text


def walked_files(root):
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs
                         if d not in SKIP_DIRS and not d.startswith("build")
                         and not d.endswith(".egg-info")
                         and not os.path.exists(os.path.join(top, d, "CMakeCache.txt")))
        for name in sorted(files):
            if name == ".git":
                continue                #  a worktree's pointer to its repository
            path = os.path.join(top, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue                #  binary: images, databases
            yield os.path.relpath(path, root), data.decode("utf-8", "replace")


def line_of(text, index):
    return text.count("\n", 0, index) + 1


def protocol_anchors(root):
    with open(os.path.join(root, "docs", "protocol.md"), encoding="utf-8") as f:
        return set(re.findall(r'<a id="([A-Za-z0-9_-]+)"></a>', f.read()))


def command_names(root):
    """The wire names of ck_command_t, from include/checkout/protocol.h."""
    with open(os.path.join(root, "include", "checkout", "protocol.h"), encoding="utf-8") as f:
        header = f.read()
    block = re.search(r"typedef enum \{(.*?)\} ck_command_t;", header, re.S)
    names = re.findall(r"\bCK_CMD_([A-Z_]+)\b", block.group(1))
    return [n for n in names if n not in ("NONE", "COUNT")]


def event_topics(root):
    """The topics of ck_event_kind_t, from the comments of include/checkout/protocol.h."""
    with open(os.path.join(root, "include", "checkout", "protocol.h"), encoding="utf-8") as f:
        header = f.read()
    block = re.search(r"typedef enum \{(.*?)\} ck_event_kind_t;", header, re.S)
    return re.findall(r"CK_EVENT_[A-Z_]+,\s*//\s+([a-z.<>]+)", block.group(1))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "CK_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    root = os.path.abspath(root)
    problems = []
    anchors = protocol_anchors(root)
    if len(anchors) < 8:
        problems.append("docs/protocol.md: only %d anchors found" % len(anchors))

    files = 0
    for rel, text in source_files(root):
        files += 1
        for match in re.finditer(SECTION_SIGN, text):
            problems.append("%s:%d: cites a section sign; cite docs/protocol.md#<anchor>"
                            % (rel, line_of(text, match.start())))
        for outside in OUTSIDE:
            for match in re.finditer(re.escape(outside), text):
                problems.append("%s:%d: points outside the repository (%s)"
                                % (rel, line_of(text, match.start()), outside))
        #  docs/protocol.md#<anchor> anywhere, protocol.md#<anchor> in the
        #  links of docs/, and (#<anchor>) links inside docs/protocol.md
        cited = re.finditer(r"protocol\.md#([A-Za-z0-9_-]+)", text)
        if rel == os.path.join("docs", "protocol.md"):
            cited = list(cited) + list(re.finditer(r"\]\(#([A-Za-z0-9_-]+)\)", text))
        for match in cited:
            if match.group(1) not in anchors:
                problems.append("%s:%d: docs/protocol.md has no anchor '%s'"
                                % (rel, line_of(text, match.start()), match.group(1)))
    if files < 50:
        problems.append("only %d files read under %s: wrong directory?" % (files, root))

    messages = os.path.join(root, "docs", "messages")
    commands = command_names(root)
    topics = event_topics(root)
    if len(commands) < 18 or len(topics) < 12:
        problems.append("include/checkout/protocol.h: read %d commands and %d event topics"
                        % (len(commands), len(topics)))
    pages = [(c, c.lower()) for c in commands]
    pages += [(t, t.replace(".<event>", "")) for t in topics]
    with open(os.path.join(messages, "README.md"), encoding="utf-8") as f:
        index = f.read()
    for name, page in pages:
        path = os.path.join(messages, page + ".md")
        if not os.path.exists(path):
            problems.append("docs/messages/%s.md: missing, the page of %s" % (page, name))
            continue
        with open(path, encoding="utf-8") as f:
            title = f.readline().strip()
        if title != "# " + name:
            problems.append("docs/messages/%s.md: title '%s', expected '# %s'"
                            % (page, title, name))
        if "(%s.md)" % page not in index:
            problems.append("docs/messages/README.md: no link to %s.md" % page)
    with open(os.path.join(root, "docs", "protocol.md"), encoding="utf-8") as f:
        if "(messages/README.md)" not in f.read():
            problems.append("docs/protocol.md: no link to docs/messages/README.md")

    for problem in problems:
        print(problem)
    print("check_docs: %d files, %d anchors, %d message pages, %d problems"
          % (files, len(anchors), len(pages), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
