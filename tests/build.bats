#!/usr/bin/env bats
# The build: install honours PREFIX and DESTDIR.

load helper

@test "make install puts binaries, man pages and completions under DESTDIR/PREFIX" {
    run make -C "$REPO" --no-print-directory install B="$(realpath --relative-to="$REPO" "$CS_BIN")" \
        PREFIX=/opt/cs DESTDIR="$T/root"
    [ "$status" -eq 0 ]
    [ -x "$T/root/opt/cs/bin/cs-decode" ]
    [ -f "$T/root/opt/cs/share/man/man1/cs-decode.1" ]
    [ -f "$T/root/opt/cs/share/man/man7/cs.7" ]
    [ -f "$T/root/opt/cs/share/bash-completion/completions/cs-decode" ]
    [ -f "$T/root/opt/cs/share/zsh/vendor-completions/_cs-decode" ]
    "$T/root/opt/cs/bin/cs-decode" --version
}
