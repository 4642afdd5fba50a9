#!/usr/bin/env bash
# Self-contained docs: README.md, docs/, scenarios/README.md and every source
# comment name only files inside the repository (no team notes folder, no
# absolute /work/ paths), and every relative Markdown link points at a file
# that exists.
cd "$(dirname "$0")/../.." && . tests/cli/lib.sh
self=tests/cli/test_docs.sh
files() { git ls-files -co --exclude-standard -- "$@" | grep -v "^$self\$"; }
docs=$(files README.md 'docs/*.md' scenarios/README.md)
src=$(files '*.c' '*.h' '*.cu' '*.sh' '*.py' '*.ini' Makefile)
[ -n "$docs" ] && [ -n "$src" ] && ok "found $(wc -w <<<"$docs") docs and $(wc -w <<<"$src") source files" || bad "no files listed"

outside='shared/notes|\.\./shared|/work/'
hits=$(grep -nE "$outside" $docs 2>/dev/null)
[ -z "$hits" ] && ok "docs name no path outside the repository" || bad "docs point outside: $(head -3 <<<"$hits")"
hits=$(grep -nE "$outside" $src 2>/dev/null)
[ -z "$hits" ] && ok "source comments name no path outside the repository" || bad "sources point outside: $(head -3 <<<"$hits")"

# relative links: [text](path) or [text](path#anchor), resolved from the file's folder
broken=""
for f in $docs; do
    dir=$(dirname "$f")
    while read -r link; do
        target=${link%%#*}
        [ -z "$target" ] && continue
        [ -e "$dir/$target" ] || broken="$broken $f:$link"
    done < <(grep -oE '\]\([^)]+\)' "$f" | sed -E 's/^\]\((.*)\)$/\1/' | grep -vE '^[a-z]+:')
done
[ -z "$broken" ] && ok "every relative Markdown link resolves" || bad "broken links:$broken"
summary
