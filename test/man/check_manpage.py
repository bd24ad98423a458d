#!/usr/bin/env python3
"""check_manpage.py BINARY PAGE: the man page PAGE documents exactly the flags BINARY --help lists.

From --help, a flag counts when it stands in the heading of an option or command line: a line
indented by 1..HEADING_INDENT_MAX columns, up to the first gap of DESCRIPTION_GAP spaces. Lines
at column 0 (usage, section titles, notes such as "Exit status:") and deeper-indented lines
(usage continuations, descriptions running on) are prose, as is everything after the gap: a flag
merely mentioned there ("(default: --ext-if)", "see --check udp") is not an option of its own.

From PAGE, a flag counts when it stands in a heading of a section named in PAGE_SECTIONS: the
tag line after .TP or .TQ, or the tag argument of .IP. Flags in running text do not count.

Every flag in one but not the other is named, and the check fails. It fails too when groff, if
installed, prints any warning rendering PAGE (groff -man -Tutf8 -ww -z).
Exit status: 0 in step, 1 not in step (or a warning), 2 usage or a binary that cannot be run.
Python 3 standard library only.
"""
import os
import re
import shutil
import subprocess
import sys

HEADING_INDENT_MAX = 6   # deepest indent of an option's first line in the three --help texts
DESCRIPTION_GAP = 2      # spaces between an option's heading and its description
HELP_TIMEOUT_S = 10
GROFF_TIMEOUT_S = 30
PAGE_SECTIONS = ("OPTIONS", "COMMANDS")
TAG_MACROS = (".TP", ".TQ")          # the tag is the next text or macro line
IP_MACRO = ".IP"                     # the tag is the macro's first argument

EXIT_OK, EXIT_DIFF, EXIT_USAGE = 0, 1, 2

# -x or --long-name, not inside a word ("fast-path", "ADDR-x") nor followed by one.
FLAG_RE = re.compile(r"(?<![\w-])(--[A-Za-z0-9][A-Za-z0-9-]*|-[A-Za-z0-9])(?![\w])")
GAP_RE = re.compile(" {%d,}" % DESCRIPTION_GAP)

# troff escapes in a heading, to plain text: fonts and zero-width marks go, \- is a hyphen.
TROFF_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),   # \fB \fI \fR \fP \f(CW \f[B]
    (re.compile(r"\\\((..)"), " "),                 # \(em \(bu ...: a separator, never a flag
    (re.compile(r"\\[&|^%c]"), ""),                 # \& \| \^ \% \c
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\ "), " "),
    (re.compile(r"\\e"), "\\\\"),
]


def flags_in(text):
    return set(FLAG_RE.findall(text))


def help_flags(help_text):
    """Flags in the headings of --help's option and command lines."""
    flags = set()
    for line in help_text.splitlines():
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if not stripped or indent == 0 or indent > HEADING_INDENT_MAX:
            continue
        heading = GAP_RE.split(stripped, maxsplit=1)[0]
        flags |= flags_in(heading)
    return flags


def plain(troff_line):
    """A heading line without its macro name, quotes and escapes."""
    text = troff_line
    if text.startswith((".", "'")):
        parts = text.split(None, 1)
        text = parts[1] if len(parts) > 1 else ""
    for pattern, repl in TROFF_ESCAPES:
        text = pattern.sub(repl, text)
    return text.replace('"', " ")


def first_argument(macro_line):
    """The first argument of a macro line, quoted or not."""
    rest = macro_line.split(None, 1)
    if len(rest) < 2:
        return ""
    rest = rest[1].lstrip()
    if rest.startswith('"'):
        end = rest.find('"', 1)
        return rest[1:end] if end > 0 else rest[1:]
    return rest.split(None, 1)[0]


def page_flags(page_text):
    """Flags in the headings (.TP/.TQ tags, .IP tags) of the sections in PAGE_SECTIONS."""
    flags, sections_seen = set(), set()
    section = None
    tag_next = False
    for line in page_text.splitlines():
        if line.startswith(('.\\"', "'\\\"")) or line.strip() in (".", ""):
            continue
        if line.startswith(".SH"):
            section = plain(line).strip().upper()
            sections_seen.add(section)
            tag_next = False
            continue
        if section not in PAGE_SECTIONS:
            continue
        if tag_next:
            flags |= flags_in(plain(line))
            tag_next = False
            continue
        macro = line.split(None, 1)[0] if line.startswith(".") else ""
        if macro in TAG_MACROS:
            tag_next = True
        elif macro == IP_MACRO:
            flags |= flags_in(plain(first_argument(line)))
    return flags, sections_seen


def groff_warnings(page):
    groff = shutil.which("groff")
    if not groff:
        return None
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page], capture_output=True, text=True,
                       timeout=GROFF_TIMEOUT_S)
    out = r.stderr.strip()
    if r.returncode != 0 and not out:
        out = "groff exited with status %d" % r.returncode
    return out


def main(argv):
    if len(argv) != 3:
        print("usage: check_manpage.py BINARY PAGE", file=sys.stderr)
        return EXIT_USAGE
    binary, page = argv[1], argv[2]
    name = os.path.basename(page)
    try:
        r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=HELP_TIMEOUT_S)
    except OSError as e:
        print("check_manpage: cannot run %s --help: %s" % (binary, e), file=sys.stderr)
        return EXIT_USAGE
    if r.returncode != 0:
        print("check_manpage: %s --help exited with status %d" % (binary, r.returncode), file=sys.stderr)
        return EXIT_USAGE
    try:
        with open(page, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print("check_manpage: cannot read %s: %s" % (page, e), file=sys.stderr)
        return EXIT_USAGE

    in_help = help_flags(r.stdout)
    in_page, sections = page_flags(text)
    where = " and ".join(s for s in PAGE_SECTIONS if s in sections) or "OPTIONS (missing)"
    problems = []
    for flag in sorted(in_help - in_page):
        problems.append("%s: listed by %s --help, not documented in %s's %s" %
                        (flag, os.path.basename(binary), name, where))
    for flag in sorted(in_page - in_help):
        problems.append("%s: documented in %s's %s, not listed by %s --help" %
                        (flag, name, where, os.path.basename(binary)))
    warnings = groff_warnings(page)
    if warnings:
        problems.append("groff warns rendering %s:\n    %s" % (name, warnings.replace("\n", "\n    ")))
    if problems:
        print("check_manpage: %s is not in step with %s --help:" % (page, binary))
        for p in problems:
            print("  " + p)
        return EXIT_DIFF
    print("check_manpage: %s documents the %d flags of %s --help%s" %
          (name, len(in_help), os.path.basename(binary),
           "" if warnings is not None else " (groff not installed: rendering not checked)"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv))
