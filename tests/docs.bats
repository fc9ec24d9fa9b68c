#!/usr/bin/env bats
# Every option of every program is in its --help, its man page and both
# completions, and the completions are what the option tables generate.

load helper

programs() {
    for b in "$CS_BIN"/cs-*; do [ -x "$b" ] && echo "${b##*/}"; done
}

@test "every option is in --help, the man page and the completions" {
    local p name missing=""
    for p in $(programs); do
        run "$p" --help
        [ "$status" -eq 0 ]
        local help=$output
        [ -f "$REPO/man/$p.1" ] || missing+=" $p:man-page"
        while IFS=$'\t' read -r name _; do
            if [ "$name" = @commands ]; then
                # every subcommand is offered by both completions
                local c
                for c in $(grep '^@commands' < <("$p" --dump-options) | cut -f4); do
                    grep -q "\b$c\b" "$REPO/completions/bash/$p" || missing+=" $p:$c:bash"
                    grep -q "\b$c\b" "$REPO/completions/zsh/_$p" || missing+=" $p:$c:zsh"
                done
                continue
            fi
            grep -q -- "--$name\b" <<<"$help" || missing+=" $p:--$name:help"
            grep -qE "Fl \\\\?-$name( |$)" "$REPO/man/$p.1" 2>/dev/null ||
                missing+=" $p:--$name:man"
            grep -q -- "--$name\b" "$REPO/completions/bash/$p" 2>/dev/null ||
                missing+=" $p:--$name:bash"
            grep -q -- "--$name\b" "$REPO/completions/zsh/_$p" 2>/dev/null ||
                missing+=" $p:--$name:zsh"
        done < <("$p" --dump-options)
    done
    echo "missing:$missing"
    [ -z "$missing" ]
}

@test "the completions are up to date with the option tables" {
    "$REPO/scripts/gen-completions.sh" "$CS_BIN" "$T/c"
    diff -r "$T/c" "$REPO/completions"
}

@test "every program answers --version and rejects an unknown option with status 2" {
    local p
    for p in $(programs); do
        run "$p" --version
        [ "$status" -eq 0 ]
        [[ "$output" == "$p (LiveStreamX) "* ]]
        run "$p" --no-such-option
        [ "$status" -eq 2 ]
        [[ "$output" == "$p: unknown option '--no-such-option'"* ]]
        one_line "$output"
    done
}

@test "the README shows an example for every program" {
    local p missing=""
    for p in $(programs); do
        # an indented command line using the program, in its own section
        awk -v p="$p" '
            /^##/ { in_sec = ($0 == "### " p) }
            in_sec && /^    / && index($0, p) { found = 1 }
            END { exit !found }' "$REPO/README.md" || missing+=" $p"
    done
    echo "missing:$missing"
    [ -z "$missing" ]
}

@test "each option's value name and default in the man page are the table's" {
    local p name short arg comp help def shown entry bad=""
    for p in $(programs); do
        # (tabs are white space to read: empty fields would collapse)
        while IFS=$'\037' read -r name short arg comp help def shown; do
            [ "$name" = @commands ] && continue
            # the option's entry: from its .It line to the next .It or .El
            entry=$(awk -v o="Fl -$name" '
                /^\.(It|El)/ { on = index($0, o " ") || substr($0, length($0) - length(o) + 1) == o }
                on' "$REPO/man/$p.1")
            if [ -n "$arg" ]; then
                grep -qF -- "Fl -$name Ar $arg" <<<"$entry" || bad+=" $p:--$name:value-name"
            fi
            # a default that is a value must read the same in the man page
            if [ -n "$def" ] && [ -z "$shown" ] && [ "$def" != - ]; then
                # (mdoc macros at line starts dropped: ".Ql 1080p:6M")
                tr '\n' ' ' <<<"$entry" | sed 's/\.[A-Z][a-z] //g' |
                    grep -qE -- "default:? $(sed 's/[].[*^$]/\\&/g' <<<"$def")([ ,;)]|$)" ||
                    bad+=" $p:--$name:default($def)"
            fi
        done < <("$p" --dump-options | tr '\t' '\037')
    done
    echo "mismatched:$bad"
    [ -z "$bad" ]
}
