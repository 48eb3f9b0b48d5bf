#!/usr/bin/env bash
# The container image (bundle/image/Dockerfile) cannot be built here (no container engine).
# This checks what can be: every shared library `ldd` lists for the binary comes from a Debian
# package that the runtime stage installs, directly or as a dependency (libc6 comes with the
# base image).  tests/packaging/image-libs.sh BINARY DOCKERFILE
set -euo pipefail
bin=$1 dockerfile=$2

# the runtime stage's packages: the indented "name \" lines after the last FROM
mapfile -t wanted < <(awk '/^FROM /{n++} {print n "\t" $0}' "$dockerfile" |
        awk -F'\t' -v last="$(grep -c '^FROM ' "$dockerfile")" '$1 == last {print $2}' |
        sed -n 's/^ \{8\}\([a-z0-9][a-z0-9.+-]*\) \\$/\1/p')
[ ${#wanted[@]} -gt 0 ] || { echo "no runtime packages found in $dockerfile" >&2; exit 1; }

# their dependency closure, from the installed packages' Depends and Pre-Depends
declare -A have=([libc6]=1)
queue=("${wanted[@]}")
while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]} queue=("${queue[@]:1}")
        [ -z "${have[$p]:-}" ] || continue
        have[$p]=1
        deps=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$p" 2>/dev/null) ||
                { echo "package $p (from $dockerfile) is not installed here; cannot check" >&2; exit 1; }
        for d in $(tr ',|' '\n\n' <<<"$deps" | sed 's/([^)]*)//g; s/:any//; s/^ *//; s/ *$//' | grep -v '^$'); do
                [ -n "${have[$d]:-}" ] || queue+=("$d")
        done
done

rc=0 n=0
while read -r lib path; do
        n=$((n + 1))
        real=$(readlink -f "$path")
        pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || dpkg -S "/usr$real" 2>/dev/null) ||
                { echo "$lib ($real): no Debian package owns it" >&2; rc=1; continue; }
        pkg=${pkg%%:*}
        if [ -z "${have[$pkg]:-}" ]; then
                echo "$lib comes from $pkg, which the runtime stage of $dockerfile does not install" >&2
                rc=1
        fi
done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
[ "$n" -gt 5 ] || { echo "ldd listed only $n libraries for $bin" >&2; exit 1; }
[ $rc -eq 0 ] && echo "all $n libraries of $bin come from ${#wanted[@]} runtime packages and their dependencies"
exit $rc
