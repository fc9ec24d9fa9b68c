# Shared by the cs-serve bats files (after `load helper`).

LLHLS="$BATS_TEST_DIRNAME/tools/llhls.py"

# A root folder to serve and a free port: $ROOT, $PORT, $U.
serve_setup() {
    ROOT=$T/root
    mkdir -p "$ROOT"
    PORT=$(free_port)
    U=http://127.0.0.1:$PORT
}
