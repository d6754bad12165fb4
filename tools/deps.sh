#!/bin/sh
# Installs the system packages hbpo builds with, when they are missing.
# As root it runs apt-get; otherwise it prints the one line to run and the
# build goes on with the portable fallbacks (no OpenBLAS: slower, same results).
need=""
command -v cc >/dev/null 2>&1 || need="$need build-essential"
command -v make >/dev/null 2>&1 || need="$need make"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
if ! pkg-config --exists openblas 2>/dev/null; then need="$need libopenblas-dev"; fi
[ -f /usr/include/oneapi/dnnl/dnnl.h ] || need="$need libdnnl-dev"  # bf16 products (AVX512-BF16, AMX)
command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 || need="$need openmpi-bin libopenmpi-dev"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "hbpo: installing$need"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; }; then
        echo "hbpo: apt-get failed; continuing with the portable fallbacks" >&2
    fi
else
    echo "hbpo: missing$need; install with:"
    echo "    sudo apt-get install -y$need"
    echo "hbpo: continuing without them (portable fallbacks)"
fi
exit 0
