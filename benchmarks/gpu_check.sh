#!/usr/bin/env bash
# The likelihood benchmark on a GPU machine, as one short device run.
#
# The device machine has JAX with CUDA, numpyro, scipy and matplotlib but not
# astropy, regions, dill or nautilus, and it cannot fetch anything, nor read
# ../shared. So, once, on this machine (it needs the package registries):
#
#     bash benchmarks/gpu_check.sh prepare
#
# puts wheels for its Python 3.12 into .whl-noise/ and the tutorial data into
# .gpudata/ (both ignored by git). Then, from a session with a device:
#
#     run(command="bash benchmarks/gpu_check.sh run",
#         carry=[".whl-noise", ".gpudata"], timeout_s=500)
#
# prints the tables of benchmarks/likelihood.py for batches of 64 and 256 at
# 128², 512² and 1024² and leaves them in $OUT. PY and SIZES override the
# Python and the image sizes (PY=.venv/bin/python SIZES=256 to try it here).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=.whl-noise
DATA=.gpudata
PACKAGES="astropy==8.0.2 astropy-iers-data==0.2026.11.2.0.34.55 pyerfa==2.0.1.5 regions==0.10
dill==0.4.1 nautilus-sampler==1.0.6 numpy==2.4.6"

prepare() {
    mkdir -p "$WHEELS" "$DATA"
    for pattern in "/$WHEELS/" "/$DATA/"; do
        grep -qxF "$pattern" .git/info/exclude || echo "$pattern" >> .git/info/exclude
    done
    # shellcheck disable=SC2086  # one argument per package
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$WHEELS" $PACKAGES
    cp ../shared/data/tutorial_mock.fits ../shared/data/tutorial_psf.fits "$DATA"/
    du -sh "$WHEELS" "$DATA"
}

run() {
    local py=${PY:-python3} out=${OUT:-/tmp/gpu_check}
    mkdir -p "$out"
    if [ -z "${PY:-}" ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site "$WHEELS"/*.whl
        export PYTHONPATH=/tmp/site:$PWD
    fi
    export SOCCA_DATA=$PWD/$DATA PYTHONUNBUFFERED=1
    nvidia-smi -L 2>/dev/null || true
    "$py" -c "import jax; print('jax', jax.__version__, jax.devices())"
    for batch in 64 256; do
        # shellcheck disable=SC2086  # SIZES is a list
        "$py" benchmarks/likelihood.py --batch "$batch" --sizes ${SIZES:-512 1024} \
            2>&1 | tee "$out/gpu-b$batch.md"
    done
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: bash benchmarks/gpu_check.sh prepare|run" >&2; exit 2 ;;
esac
