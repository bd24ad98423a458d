#!/bin/bash
# md_section.sh FILE NAME < text: replaces what lies between "<!-- NAME:begin -->" and
# "<!-- NAME:end -->" in FILE with stdin (the markers stay); appends the block when FILE lacks it.
set -eu
f=$1 name=$2
new=$(mktemp); cat > "$new"
touch "$f"
python3 - "$f" "$name" "$new" <<'PY'
import sys
f, name, new = sys.argv[1:4]
b, e = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
text = open(f).read()
body = open(new).read()
if not body.endswith("\n"):
    body += "\n"
block = b + "\n" + body + e
if b in text and e in text:
    text = text[:text.index(b)] + block + text[text.index(e) + len(e):]
else:
    text = text + ("" if text.endswith("\n") or not text else "\n") + block + "\n"
open(f, "w").write(text)
PY
rm -f "$new"
