#!/bin/sh
# Data parallelism on the CPUs of one machine, same run, side by side:
# 1 rank x 2 threads vs 2 ranks x 1 thread of build/dp_train (24.7M shape),
# steps per second and the gradient all-reduce time per step.
# Usage: sh bench/bench_dp.sh [BUILD_DIR] [STEPS]   (DP_ARGS="--queries Q" for another batch)
b=${1:-build}; steps=${2:-3}
mpirun="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && mpirun="$mpirun --allow-run-as-root"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores"
one=$($mpirun -np 1 "$b/dp_train" --threads 2 --steps "$steps" $DP_ARGS) || exit 1
two=$($mpirun -np 2 --bind-to none "$b/dp_train" --threads 1 --steps "$steps" $DP_ARGS) || exit 1
echo "$one"
echo "$two"
a=$(echo "$one" | sed 's/.*: \([0-9.]*\) s\/step.*/\1/')
c=$(echo "$two" | sed 's/.*: \([0-9.]*\) s\/step.*/\1/')
echo "steps/s of 2 ranks x 1 thread / 1 rank x 2 threads: $(echo "$a $c" | awk '{printf "%.3f", $1 / $2}')x"
