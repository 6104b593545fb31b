#!/bin/bash
# The paper protocol as a Slurm job array: one GPU per array task, each task one shard of the
# plan, then a dependent job that builds the reports (docs/cluster.md).
#
#   sbatch --array=0-31 experiments/slurm_array.sh --preset paper --out /shared/d2tl-results
#   # then, once (after the array; afterany so a requeued task's final run counts):
#   sbatch --dependency=afterany:<array job id> --wrap "python experiments/run_all.py --preset paper \
#          --out /shared/d2tl-results --report-only"
#
# Requeue-safe: a preempted or requeued task reruns the same shard; finished configurations are
# read back from the shared store and an interrupted one resumes from its finished runs.
#SBATCH --job-name=d2tl-shard
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=d2tl-shard-%A_%a.log
set -euo pipefail
: "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=0-(N-1)}"
: "${SLURM_ARRAY_TASK_COUNT:?submit with sbatch --array=0-(N-1)}"
cd "${SLURM_SUBMIT_DIR:-.}"
exec python experiments/run_all.py "$@" --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"
