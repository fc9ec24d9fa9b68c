#!/usr/bin/env bats
# deploy/: the Kubernetes manifests (rendered, validated offline against
# Kubernetes' schemas), the systemd units (systemd-analyze verify), the
# channel wrapper they both run, the edge configuration copies, and the
# container image (built with CS_DEPLOY_IMAGE=1, else checked when an image
# is already built; see the image tests).

load helper

D=$BATS_TEST_DIRNAME/../deploy
IMAGE=${CS_IMAGE_TAG:-livestreamx:$(cat "$BATS_TEST_DIRNAME/../VERSION")}

setup_file() {
    # `make image` takes minutes: only on request (see "image:" tests)
    if [ "${CS_DEPLOY_IMAGE:-0}" = 1 ]; then
        timeout 1800 "$BATS_TEST_DIRNAME/../deploy/image/build.sh" \
            -t "${CS_IMAGE_TAG:-livestreamx:$(cat "$BATS_TEST_DIRNAME/../VERSION")}" \
            > "$BATS_FILE_TMPDIR/image.log" 2>&1
        echo $? > "$BATS_FILE_TMPDIR/image.rc"
    fi
}

teardown() {
    local p
    for p in ${KILL_PIDS:-}; do kill -9 "$p" 2>/dev/null || true; done
    if [ -n "${CTR:-}" ]; then buildah rm "$CTR" >/dev/null 2>&1 || true; fi
}

need_k8s_tools() {
    command -v kubectl >/dev/null || skip "kubectl not installed"
    [ -d "$REPO/node_modules/kubernetes-models" ] ||
        skip "npm package kubernetes-models not installed (make deps)"
}

# --- Kubernetes -----------------------------------------------------------

@test "k8s: every kustomization renders and every object is valid against the Kubernetes schemas" {
    need_k8s_tools
    local dirs=("$D/k8s/base" "$D/k8s/channel" "$D"/k8s/overlays/*) d n=0
    [ "${#dirs[@]}" -ge 5 ]
    for d in "${dirs[@]}"; do
        run "$D/k8s/validate.sh" "$d"
        echo "$d: $output"
        [ "$status" -eq 0 ]
        [[ "${lines[-1]}" =~ ^([0-9]+)\ objects,\ 0\ invalid$ ]]
        n=$((n + BASH_REMATCH[1]))
    done
    # the kinds the issue asks for are all there
    run bash -c "for d in ${dirs[*]}; do kubectl kustomize \$d; done | grep -E '^kind: ' | sort -u"
    for k in StatefulSet Deployment Service ConfigMap Secret HorizontalPodAutoscaler PodDisruptionBudget Namespace; do
        [[ "$output" == *"kind: $k"* ]]
    done
    echo "$n objects" >&3
}

@test "k8s: a broken copy (a field of the wrong type, a misspelt required or optional field) fails validation" {
    need_k8s_tools
    cp -r "$D/k8s" "$T/k8s"
    # replicas: a string
    sed -i 's/^  replicas: 2$/  replicas: "two"/' "$T/k8s/base/origin.yaml"
    grep -q 'replicas: "two"' "$T/k8s/base/origin.yaml"
    run "$D/k8s/validate.sh" "$T/k8s/base"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"invalid StatefulSet/cs-origin: "*"replicas must be integer"* ]]
    [[ "${lines[-1]}" == "11 objects, 1 invalid" ]]
    # containerPort misspelt: the port lacks its required field
    cp "$D/k8s/base/origin.yaml" "$T/k8s/base/origin.yaml"
    sed -i 's/containerPort: 8081/contanerPort: 8081/' "$T/k8s/base/edge.yaml"
    run "$D/k8s/validate.sh" "$T/k8s/base"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"invalid Deployment/cs-edge: "*"ports/0 must have required property containerPort"* ]]
    # a misspelt optional field (the schemas allow unknown fields; the
    # check along the type declarations does not)
    cp "$D/k8s/base/edge.yaml" "$T/k8s/base/edge.yaml"
    sed -i 's/^          image: livestreamx$/&\n          imagePullPolcy: Always/' "$T/k8s/base/edge.yaml"
    grep -q 'imagePullPolcy' "$T/k8s/base/edge.yaml"
    run "$D/k8s/validate.sh" "$T/k8s/base"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"invalid Deployment/cs-edge: unknown field data/spec/template/spec/containers/0/imagePullPolcy"* ]]
    # the copy without the change is valid again
    cp "$D/k8s/base/edge.yaml" "$T/k8s/base/edge.yaml"
    run "$D/k8s/validate.sh" "$T/k8s/base"
    [ "$status" -eq 0 ]
}

@test "k8s: pods run non-root on a read-only root, probes on cs-serve's /healthz, channels PUT to every origin" {
    need_k8s_tools
    local all
    all=$(for d in "$D/k8s/base" "$D"/k8s/overlays/*; do echo ---; kubectl kustomize "$d"; done |
        python3 -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)')
    # every container of every workload
    run jq -r '.[] | select(.kind == "Deployment" or .kind == "StatefulSet") |
        .spec.template.spec as $p | $p.containers[] |
        [.name, $p.securityContext.runAsNonRoot, $p.securityContext.runAsUser,
         .securityContext.readOnlyRootFilesystem, .securityContext.allowPrivilegeEscalation,
         ($p.terminationGracePeriodSeconds >= 20), (.resources.requests.cpu != null)] | map(tostring) | join(" ")' <<< "$all"
    echo "$output"
    [ "${#lines[@]}" -ge 5 ]
    for l in "${lines[@]}"; do
        [[ "$l" =~ ^[a-z-]+\ true\ 10001\ true\ false\ true\ true$ ]]
    done
    # the origin's probes ask cs-serve's own health endpoint, which answers
    run jq -r '.[] | select(.kind == "StatefulSet") | .spec.template.spec.containers[0] |
        .readinessProbe.httpGet.path, .livenessProbe.httpGet.path, (.args | join(" "))' <<< "$all"
    [ "${lines[0]}" = /healthz ]
    [ "${lines[1]}" = /healthz ]
    local port
    port=$(free_port)
    mkdir -p "$T/live"
    # the origin's arguments, on loopback
    cs-serve --root "$T/live" --listen "127.0.0.1:$port" 2>"$T/serve.err" &
    KILL_PIDS=$!
    local i
    for i in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz"
    [ "$output" = 200 ]
    # one output per origin replica in every channel
    local replicas outs
    replicas=$(jq '[.[] | select(.kind == "StatefulSet")][0].spec.replicas' <<< "$all")
    run jq -r '.[] | select(.kind == "Deployment" and (.metadata.name | startswith("cs-channel"))) |
        .spec.template.spec.containers[0].env[] | select(.name == "CS_OUTPUT") | .value' <<< "$all"
    [ "${#lines[@]}" -eq 2 ]
    for outs in "${lines[@]}"; do
        read -ra o <<< "$outs"
        [ "${#o[@]}" -eq "$replicas" ]
    done
    # HPA and PDB name workloads that exist
    run jq -r '.[] | select(.kind == "HorizontalPodAutoscaler") | .spec.scaleTargetRef.name' <<< "$all"
    [ "$(printf '%s\n' "${lines[@]}" | sort -u)" = cs-edge ]
}

# --- edge configuration -----------------------------------------------------

@test "edge: the copies in deploy/ are examples/nginx/edge.conf adapted, and nginx accepts them" {
    command -v nginx >/dev/null || skip "nginx not installed"
    run diff <("$D/edge-conf.sh" 0.0.0.0:80 /var/cache/nginx/cs-edge 10.0.0.11:8080 10.0.0.12:8080) \
        "$D/systemd/livestreamx-edge.conf"
    echo "$output"
    [ "$status" -eq 0 ]
    run diff <("$D/edge-conf.sh" 0.0.0.0:8081 /var/cache/nginx/cs-edge cs-origin:8080) \
        "$D/k8s/base/edge.conf"
    echo "$output"
    [ "$status" -eq 0 ]
    # nginx -t on the Kubernetes pair (paths moved under $T, the Service
    # name replaced by an address: nginx resolves upstreams at load time)
    mkdir -p "$T/run" "$T/cache"
    sed -e "s|/run/nginx|$T/run|g" -e "s|/etc/livestreamx/edge/|$T/|" \
        -e "s|/etc/nginx/mime.types|/etc/nginx/mime.types|" "$D/k8s/base/nginx.conf" > "$T/nginx.conf"
    "$D/edge-conf.sh" "127.0.0.1:$(free_port)" "$T/cache" 127.0.0.1:9 > "$T/edge.conf"
    run nginx -t -e stderr -p "$T" -c "$T/nginx.conf"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"test is successful"* ]]
}

# --- systemd ----------------------------------------------------------------

# A root for systemd-analyze: the host's own units, the programs installed
# with `make install` under /usr/local, the wrapper, the settings files.
mkroot() {
    local r=$1
    mkdir -p "$r/usr/lib/systemd" "$r/etc/systemd/system" "$r/etc/livestreamx"
    cp -a /usr/lib/systemd/system "$r/usr/lib/systemd/"
    install -d "$r/usr/local/bin" "$r/usr/local/share/man/man1"
    install -m 755 "$CS_BIN"/cs-* "$r/usr/local/bin/"
    install -m 644 "$REPO"/man/*.1 "$r/usr/local/share/man/man1/"
    install -D -m 755 "$D/systemd/cs-channel.sh" "$r/usr/local/lib/livestreamx/cs-channel"
    cp "$D/systemd/cs-serve.service" "$D/systemd/cs-channel@.service" "$r/etc/systemd/system/"
    cp "$D/systemd/cs-channel.env.example" "$r/etc/livestreamx/demo.env"
    printf 'demo secret-passphrase publish\n' > "$r/etc/livestreamx/demo.access"
}

@test "systemd: systemd-analyze verify passes on each unit, silently (programs installed in a temp root)" {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
    mkroot "$T/root"
    [ -x "$T/root/usr/local/bin/cs-serve" ]
    for u in cs-serve.service cs-channel@demo.service; do
        run systemd-analyze verify --root="$T/root" --man=no "$u"
        echo "$u: $output"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
    done
}

@test "systemd: a broken unit fails verify (a missing program; a misspelt setting)" {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
    mkroot "$T/root"
    local u=$T/root/etc/systemd/system/cs-serve.service
    sed -i 's|^ExecStart=/usr/local/bin/cs-serve |ExecStart=/usr/local/bin/cs-server |' "$u"
    run systemd-analyze verify --root="$T/root" --man=no cs-serve.service
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/usr/local/bin/cs-server is not executable"* ]]
    cp "$D/systemd/cs-serve.service" "$u"
    sed -i 's|^ProtectSystem=strict|ProtectSytem=strict|' "$u"
    run systemd-analyze verify --root="$T/root" --man=no cs-serve.service
    echo "$output"
    [[ "$output" == *"Unknown key 'ProtectSytem' in section [Service]"* ]]
}

@test "systemd: hardening and restart policy follow the exit-status table" {
    local u k
    for u in "$D/systemd/cs-serve.service" "$D/systemd/cs-channel@.service"; do
        for k in User=livestreamx ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
                 RestartPreventExitStatus=2 CapabilityBoundingSet=; do
            grep -qx "$k" "$u" || { echo "$u: no $k"; false; }
        done
        grep -qE '^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' "$u"
    done
    grep -qx 'EnvironmentFile=/etc/livestreamx/%i.env' "$D/systemd/cs-channel@.service"
    grep -qx 'KillMode=mixed' "$D/systemd/cs-channel@.service"
}

# --- the channel wrapper (systemd and Kubernetes) -----------------------------

@test "cs-channel: a configuration error exits 2 (no restart), a missing setting too" {
    run env CS_INGEST='bogus://x' CS_OUTPUT="$T/out" "$D/systemd/cs-channel.sh"
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"cs-recv: invalid URL 'bogus://x'"* ]]
    run env -u CS_OUTPUT CS_INGEST='udp://127.0.0.1:9' "$D/systemd/cs-channel.sh"
    [ "$status" -eq 2 ]
    [ "$output" = "cs-channel: 'CS_OUTPUT': not set" ]
}

@test "cs-channel: one ingest, packaged to two outputs; SIGTERM drains and exits 0" {
    mkclip "$T/in.ts" 5 320x240 25
    local port w
    port=$(free_port)
    CS_INGEST="tcp://127.0.0.1:$port?listen=1" CS_OUTPUT="$T/a $T/b" CS_RUNGS=240p:300k \
        CS_LADDER_OPTS="--preset ultrafast" "$D/systemd/cs-channel.sh" 2>"$T/ch.err" &
    w=$!
    KILL_PIDS=$w
    sleep 1
    timeout 30 ffmpeg -nostdin -loglevel error -re -i "$T/in.ts" -c copy -f mpegts "tcp://127.0.0.1:$port"
    sleep 1
    kill -TERM "$w"
    run timeout 30 bash -c "while kill -0 $w 2>/dev/null; do sleep 0.2; done"
    wait "$w" || { cat "$T/ch.err"; false; }
    for o in a b; do
        tail -1 "$T/$o/240p/index.m3u8" | grep -qx '#EXT-X-ENDLIST'
        [ "$(grep -c '\.m4s$' "$T/$o/240p/index.m3u8")" -ge 2 ]
        run ffprobe -v error -select_streams v -show_entries stream=height -of csv=p=0 \
            "$T/$o/240p/index.m3u8"
        [ "${lines[0]}" = 240 ]
    done
    cmp "$T/a/240p/init.mp4" "$T/b/240p/init.mp4"
}

@test "cs-channel: an origin that is down does not stop the other output; exit 4 (retry)" {
    mkclip "$T/in.ts" 4 320x240 25
    local port
    port=$(free_port)
    CS_INGEST="tcp://127.0.0.1:$port?listen=1" CS_OUTPUT="$T/a http://127.0.0.1:9/x/" \
        CS_RUNGS=240p:300k CS_RECV_OPTS=--once CS_LADDER_OPTS="--preset ultrafast" \
        timeout 60 "$D/systemd/cs-channel.sh" 2>"$T/ch.err" &
    KILL_PIDS=$!
    sleep 1
    timeout 30 ffmpeg -nostdin -loglevel error -re -i "$T/in.ts" -c copy -f mpegts "tcp://127.0.0.1:$port"
    local rc=0
    wait "$KILL_PIDS" || rc=$?
    cat "$T/ch.err"
    [ "$rc" -eq 4 ]
    grep -q "cs-segment: cannot read the state of 'http://127.0.0.1:9/x/': peer unavailable" "$T/ch.err"
    tail -1 "$T/a/240p/index.m3u8" | grep -qx '#EXT-X-ENDLIST'
    [ "$(grep -c '\.m4s$' "$T/a/240p/index.m3u8")" -ge 2 ]
}

# --- container image ------------------------------------------------------------

@test "image: Containerfile and build script, statically" {
    command -v shellcheck >/dev/null || skip "shellcheck not installed"
    shellcheck -S warning -x "$D/image/build.sh"
    local c=$D/image/Containerfile
    [ "$(grep -E '^FROM ' "$c")" = "FROM scratch" ]
    grep -qx 'ADD rootfs.tar /' "$c"
    grep -qx 'USER 10001:10001' "$c"
    # no RUN: the build needs no container runtime
    run grep -E '^(RUN|FROM [^s])' "$c"
    [ "$status" -eq 1 ]
    # `make image` runs the script
    run make -C "$REPO" -n image IMAGE_TAG=x:1
    [[ "$output" == *"deploy/image/build.sh -t x:1"* ]]
    # the tool check says what is missing (a PATH without mmdebstrap)
    mkdir "$T/bin"
    ln -s "$(command -v dirname)" "$(command -v cat)" "$T/bin/"
    run env PATH="$T/bin" /bin/sh "$D/image/build.sh"
    echo "$output"
    [ "$status" -eq 77 ]
    [ "$output" = "build.sh: 'mmdebstrap': not installed" ]
}

# The image: built by setup_file when CS_DEPLOY_IMAGE=1 (about 10 minutes
# here, mostly downloading the Debian packages), else the one `make image`
# left in buildah's storage, else skipped.
have_image() {
    if [ -f "$BATS_FILE_TMPDIR/image.rc" ]; then
        if [ "$(cat "$BATS_FILE_TMPDIR/image.rc")" != 0 ]; then
            tail -20 "$BATS_FILE_TMPDIR/image.log"
            false
        fi
        return 0
    fi
    command -v buildah >/dev/null ||
        skip "buildah not installed (make image; CS_DEPLOY_IMAGE=1 builds in the test)"
    buildah inspect --type image "$IMAGE" >/dev/null 2>&1 ||
        skip "no image $IMAGE (make image, or CS_DEPLOY_IMAGE=1 to build it here: minutes)"
}

@test "image: runs as a non-root user; cs-decode --version; the eight programs, man pages and nginx" {
    have_image
    CTR=$(buildah from "$IMAGE")
    run buildah run --isolation chroot "$CTR" -- cs-decode --version
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$(cat "$REPO/VERSION")"* ]]
    run buildah run --isolation chroot "$CTR" -- id -u
    [ "$output" = 10001 ]
    run buildah run --isolation chroot "$CTR" -- sh -c \
        'for p in decode encode fetch ladder recv segment send serve; do
             command -v cs-$p; test -f /usr/local/share/man/man1/cs-$p.1 || echo "no man cs-$p"
         done; test -x /usr/local/lib/livestreamx/cs-channel && nginx -v'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^/usr/local/bin/cs-' <<< "$output")" -eq 8 ]
    [[ "$output" != *"no man"* ]]
    [[ "$output" == *"nginx version: nginx/"* ]]
    # the channel wrapper runs there, with the exit status of cs(7)
    run buildah run --isolation chroot --env CS_INGEST=bogus://x --env CS_OUTPUT=/tmp/x "$CTR" -- \
        /usr/local/lib/livestreamx/cs-channel
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"cs-recv: invalid URL 'bogus://x'"* ]]
    # the image's nginx takes the Kubernetes edge configuration, as user cs
    # (paths under a bound folder, the Service name replaced by an address)
    mkdir -p "$T/ng/run" "$T/ng/cache"
    chmod 777 "$T/ng" "$T/ng/run" "$T/ng/cache"
    chmod 755 "$T"
    sed -e "s|/run/nginx|/work/ng/run|g" -e "s|/etc/livestreamx/edge/|/work/ng/|" \
        "$D/k8s/base/nginx.conf" > "$T/ng/nginx.conf"
    "$D/edge-conf.sh" 0.0.0.0:8081 /work/ng/cache 127.0.0.1:9 > "$T/ng/edge.conf"
    run buildah run --isolation chroot -v "$T:/work" "$CTR" -- \
        nginx -t -e stderr -p /work/ng -c /work/ng/nginx.conf
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"test is successful"* ]]
}

@test "image: a short pipeline inside (ladder | segment), checked with ffprobe outside" {
    have_image
    mkclip "$T/in.ts" 4 320x240 25
    mkdir -m 777 "$T/out"
    chmod 755 "$T"
    CTR=$(buildah from "$IMAGE")
    run timeout 120 buildah run --isolation chroot -v "$T:/work" "$CTR" -- sh -c \
        'cs-ladder --rungs 240p:300k --preset ultrafast /work/in.ts | cs-segment --vod -o /work/out/demo'
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qx '#EXT-X-ENDLIST' "$T/out/demo/240p/index.m3u8"
    run ffprobe -v error -count_frames -select_streams v -show_entries stream=height,nb_read_frames \
        -of csv=p=0 "$T/out/demo/240p/index.m3u8"
    echo "$output"
    # 4 s at 25 fps (ffprobe lists the stream again per program)
    [[ "${lines[0]}" =~ ^240,(9[0-9]|100)$ ]]
    # written by the image's user, not root
    [ "$(stat -c %u "$T/out/demo/master.m3u8")" = 10001 ]
}
