#!/usr/bin/env bash
# dcmqi's itkimage2segimage (C++): a reference for `pavseg bench seg`. BINARY SEG of the label
# map's segments as described in dcmqi_meta.json (1 pulmonary artery, 2 pulmonary vein), timed
# as a whole process under GNU time (reading the series and writing the SEG included).
# Usage: bench/reference/seg_dcmqi.sh CT_DIR LABELS.nii.gz OUT.dcm   (itkimage2segimage on PATH: pip dcmqi)
# Prints: RESULT dcmqi wall=<s> s maxrss_kb=<n> bytes=<n>
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,6p' "$0"; exit 2; }
meta="$(dirname "$(readlink -f "$0")")/dcmqi_meta.json"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
if ! /usr/bin/time -v itkimage2segimage --inputDICOMDirectory "$1" --inputImageList "$2" \
    --inputMetadata "$meta" --outputDICOM "$3" > /dev/null 2> "$report"; then
  cat "$report" >&2; exit 1
fi
# GNU time prints the wall clock as [h:]mm:ss.ss
awk -v bytes="$(stat -c %s "$3")" '
  /Elapsed \(wall clock\)/ { n = split($NF, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
  /Maximum resident set size/ { rss = $NF }
  END { printf "RESULT dcmqi wall=%.3f s maxrss_kb=%d bytes=%d\n", wall, rss, bytes }' "$report"
